//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// clusterSeen is an edge of bookinfo's as a proxy reports it in a multi-cluster mesh:
// productpage, running in the caller's cluster, calls reviews-v1, in the destination's.
// Without cluster IDs the series carries no cluster labels, as a cluster's own Prometheus
// may hold them.
func clusterSeen(ns, from, to string) map[string]string {
	l := map[string]string{
		"reporter": "destination", "source_workload": "productpage-v1", "source_workload_namespace": ns,
		"source_principal": "spiffe://cluster.local/ns/" + ns + "/sa/bookinfo-productpage", "destination_workload": "reviews-v1",
		"destination_workload_namespace": ns, "destination_app": "reviews", "destination_version": "v1",
		"destination_service_name": "reviews", "destination_service_namespace": ns, "connection_security_policy": "mutual_tls",
		"request_protocol": "http", "response_code": "200", "response_flags": "-",
	}
	if from != "" {
		l["source_cluster"], l["destination_cluster"] = from, to
	}
	return l
}

// edgesPrometheus answers every istio_requests_total query with these series (and nothing
// for TCP), as a Prometheus holding them would.
func edgesPrometheus(t *testing.T, series ...map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		result := []any{}
		if strings.Contains(r.FormValue("query"), "istio_requests_total") {
			for _, s := range series {
				result = append(result, map[string]any{"metric": s, "value": []any{1700000000, "120"}})
			}
		}
		body, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// denyProductpage is the change replayed: reviews refuses productpage.
func denyProductpage(t *testing.T, ns string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deny.yaml")
	doc := fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-productpage, namespace: %s}
spec:
  action: DENY
  selector: {matchLabels: {app: reviews}}
  rules: [{from: [{source: {principals: [cluster.local/ns/%s/sa/bookinfo-productpage]}}]}]
`, ns, ns)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// whatIfEdges are the clusters of the edges a what-if -o json lists, "from->to change".
func whatIfEdges(t *testing.T, r result) []string {
	t.Helper()
	var report struct {
		Edges []struct {
			Source      struct{ Cluster string }
			Destination struct{ Cluster string }
			Change      string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("what-if -o json: %v\n%s", err, r)
	}
	var out []string
	for _, e := range report.Edges {
		out = append(out, e.Source.Cluster+"->"+e.Destination.Cluster+" "+e.Change)
	}
	return out
}

// A DENY made in both clusters breaks productpage's calls to reviews in each, whether one
// Prometheus holds the whole mesh's telemetry (with cluster labels) or each cluster has its
// own: each edge is listed with its cluster, and --fail-on sees them.
func TestMultiClusterWhatIfReplaysEachClusterEdges(t *testing.T) {
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-whatif")
	file := denyProductpage(t, ns)
	global := edgesPrometheus(t, clusterSeen(ns, eastID, eastID), clusterSeen(ns, eastID, westID))
	r := mustSucceed(t, m.mesh(t, "mesh", "what-if", "-f", file, "-n", ns, "--contexts", "east,west", "--prometheus-url", global, "-o", "json"))
	got, want := whatIfEdges(t, r), []string{"cluster-east->cluster-east newly-denied", "cluster-east->cluster-west newly-denied"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("edges %q, want %q:\n%s", got, want, r)
	}
	// Each cluster's own Prometheus, its series without cluster labels: they end in it.
	east, west := edgesPrometheus(t, clusterSeen(ns, "", "")), edgesPrometheus(t, clusterSeen(ns, "", ""))
	r = m.mesh(t, "mesh", "what-if", "-f", file, "-n", ns, "--contexts", "east,west",
		"--prometheus-url", "east="+east, "--prometheus-url", westID+"="+west, "--fail-on", "denied")
	t.Logf("kubectl mesh what-if --contexts east,west:\n%s", r.stdout)
	if r.code != 1 || !strings.Contains(r.stderr, "2 newly denied (--fail-on denied)") {
		t.Errorf("want exit 1 for 2 newly denied edges:\n%s", r)
	}
	for _, want := range []string{"cluster-east (context east): 1 edge replayed", "cluster-west (context west): 1 edge replayed", "cluster-west  ", "CLUSTER"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the table does not say %q:\n%s", want, r)
		}
	}
}

// An ALLOW present in west alone: why says allowed in west, denied in east, each under its
// cluster's heading, and names the policy east lacks.
func TestMultiClusterWhyComparesTheClusters(t *testing.T) {
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-why")
	onlyRatings := fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-ratings, namespace: %[1]s}
spec: {selector: {matchLabels: {app: reviews}}, rules: [{from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-ratings]}}]}]}
`, ns)
	m.both(t, "applying only-ratings", func(c *meshCluster) error { c.apply(t, onlyRatings); return nil })
	m.West.apply(t, fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-productpage, namespace: %[1]s}
spec: {selector: {matchLabels: {app: reviews}}, rules: [{from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-productpage]}}]}]}
`, ns))
	r := mustSucceed(t, m.mesh(t, "mesh", "why", "productpage", "reviews", "-n", ns, "--contexts", "east,west"))
	t.Logf("kubectl mesh why productpage reviews --contexts east,west:\n%s", r.stdout)
	for _, want := range []string{
		"=== cluster cluster-east (context east), callers in cluster-east and cluster-west alike ===",
		"=== cluster cluster-west (context west), callers in cluster-west and cluster-east alike ===",
		"the clusters differ: denied (403 at the sidecar) in cluster-east; allowed in cluster-west",
		"because cluster-east lacks AuthorizationPolicy " + ns + "/allow-productpage, which decides in cluster-west (allowed)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("why does not say %q:\n%s", want, r)
		}
	}
	var report struct {
		Differ bool
		Paths  []struct {
			To     struct{ ID, Context string }
			Report struct{ Verdict string }
		}
	}
	r = mustSucceed(t, m.mesh(t, "mesh", "why", "productpage", "reviews", "-n", ns, "--contexts", "east,west", "-o", "json"))
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("why -o json: %v\n%s", err, r)
	}
	if len(report.Paths) != 2 || !report.Differ || report.Paths[0].To.Context != "east" || report.Paths[0].Report.Verdict != "denied" || report.Paths[1].Report.Verdict != "allowed" {
		t.Errorf("why -o json: want east denied, west allowed, differing:\n%s", r)
	}
}

// A cluster that does not answer is named; why and what-if go on with the other.
func TestMultiClusterWhyAndWhatIfGoOnWithoutAnUnreachableCluster(t *testing.T) {
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-gone")
	r := mustSucceed(t, m.mesh(t, "mesh", "why", "productpage", "reviews", "-n", ns, "--contexts", "east,"+goneContext, "--request-timeout", "5s"))
	if !strings.Contains(r.stderr, goneContext) || !strings.Contains(r.stdout, "=== cluster cluster-east (context east) ===") || !strings.Contains(r.stdout, "verdict: allowed") {
		t.Errorf("why with an unreachable cluster:\n%s", r)
	}
	prom := edgesPrometheus(t, clusterSeen(ns, eastID, eastID))
	r = mustSucceed(t, m.mesh(t, "mesh", "what-if", "-f", denyProductpage(t, ns), "-n", ns, "--contexts", "east,"+goneContext,
		"--prometheus-url", prom, "--request-timeout", "5s", "-o", "json"))
	if got := whatIfEdges(t, r); !strings.Contains(r.stderr, goneContext) || len(got) != 1 || got[0] != "cluster-east->cluster-east newly-denied" {
		t.Errorf("what-if with an unreachable cluster: edges %q\n%s", got, r)
	}
}

// productpage runs in east only, reviews v3 in west too, where a DENY refuses productpage:
// why follows east's caller into west and says west's policy decides there; a what-if into a
// namespace west does not hold replays east alone and says so.
func TestMultiClusterWhyFollowsCallsAcrossClusters(t *testing.T) {
	m := meshOfTwo(t)
	ns := "mc-across"
	if err := m.East.Fixture.LoadBookinfo(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	if err := m.West.Fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := m.West.Fixture.LoadApp(t.Context(), ns, testcluster.Workload{App: "reviews", Version: "v3", ServiceAccount: "bookinfo-reviews", Replicas: 1, Ready: 1}); err != nil {
		t.Fatal(err)
	}
	m.West.apply(t, strings.Replace(mustRead(t, denyProductpage(t, ns)), "deny-productpage", "deny-in-west", 1))
	r := mustSucceed(t, m.mesh(t, "mesh", "why", "productpage", "reviews", "-n", ns, "--contexts", "east,west"))
	for _, want := range []string{
		"=== cluster cluster-east (context east) ===",
		"=== served in cluster cluster-west (context west), caller in cluster-east (context east) ===",
		"the clusters differ: allowed in cluster-east; denied (403 at the sidecar) from cluster-east to cluster-west",
		"because cluster-east lacks AuthorizationPolicy " + ns + "/deny-in-west, which decides from cluster-east to cluster-west",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("why does not say %q:\n%s", want, r)
		}
	}

	eastOnly := "mc-east-only"
	if err := m.East.Fixture.LoadBookinfo(t.Context(), eastOnly); err != nil {
		t.Fatal(err)
	}
	prom := edgesPrometheus(t, clusterSeen(eastOnly, eastID, eastID))
	r = mustSucceed(t, m.mesh(t, "mesh", "what-if", "-f", denyProductpage(t, eastOnly), "-n", eastOnly, "--contexts", "east,west", "--prometheus-url", prom))
	for _, want := range []string{"cluster-east (context east): 1 edge replayed", "cluster-west (context west): none of the namespaces replayed is in it", "cluster-east  newly denied"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("what-if does not say %q:\n%s", want, r)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A caller no cluster runs is an error that says, per cluster, what it lacks.
func TestMultiClusterWhyNamesWhatEachClusterLacks(t *testing.T) {
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-why-missing")
	r := m.mesh(t, "mesh", "why", "nosuch", "reviews", "-n", ns, "--contexts", "east,west")
	for _, want := range []string{"cluster cluster-east (context east): SOURCE: no running pod of nosuch in namespace " + ns, "cluster cluster-west (context west): SOURCE"} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("why with a caller in no cluster does not say %q:\n%s", want, r)
		}
	}
}
