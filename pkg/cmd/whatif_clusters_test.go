package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// app1CallsApp0 serves app1's calls to app0 as the destination's sidecar reported them, one
// series per destination cluster named (none: no cluster labels).
func app1CallsApp0(t *testing.T, clusters ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		result := []any{}
		if strings.Contains(r.FormValue("query"), "istio_requests_total") {
			for _, c := range clusters {
				l := map[string]string{"reporter": "destination", "source_workload": "app1", "source_workload_namespace": "shop",
					"source_principal": "spiffe://cluster.local/ns/shop/sa/app1", "destination_workload": "app0", "destination_workload_namespace": "shop",
					"destination_app": "app0", "destination_version": "v1", "destination_service_name": "app0", "destination_service_namespace": "shop",
					"connection_security_policy": "mutual_tls", "request_protocol": "http", "response_code": "200"}
				if c != "" {
					l["destination_cluster"], l["source_cluster"] = c, c
				}
				result = append(result, map[string]any{"metric": l, "value": []any{1700000000, "30"}})
			}
		}
		body, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func denyApp1(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deny.yaml")
	doc := `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: deny-app1, namespace: shop},
  spec: {action: DENY, selector: {matchLabels: {app: app0}}, rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/app1]}}]}]}}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// One Prometheus for the mesh: each edge is replayed in its destination cluster, listed with
// it, and --fail-on counts them all.
func TestWhatIfContextsGlobalPrometheus(t *testing.T) {
	root, _, _ := twoWhyClusters(t, false)
	prom := app1CallsApp0(t, "cluster-east", "cluster-west", "cluster-north")
	stdout, stderr, code := run(root, "what-if", "-f", denyApp1(t), "--contexts", "east,west", "--prometheus-url", prom, "--fail-on", "denied")
	if code != 1 || !strings.Contains(stderr, "2 newly denied (--fail-on denied)") {
		t.Errorf("exit %d, want 1 for 2 newly denied:\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"cluster-east  newly denied  shop/app1", "cluster-west  newly denied  shop/app1", "cluster-west (context west): 1 edge replayed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("what-if does not say %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "1 observed edge into cluster cluster-north, which is not among the clusters read") {
		t.Errorf("the edge into a cluster not read is not said:\n%s", stderr)
	}
}

// Each cluster's own Prometheus: one that does not answer is named, the other's edges are
// replayed, in its cluster though telemetry names none.
func TestWhatIfContextsPrometheusPerCluster(t *testing.T) {
	root, _, _ := twoWhyClusters(t, false)
	stdout, stderr, code := run(root, "what-if", "-f", denyApp1(t), "--contexts", "east,west", "-o", "json",
		"--prometheus-url", "east="+app1CallsApp0(t, ""), "--prometheus-url", "cluster-west=http://127.0.0.1:1")
	if code != 0 {
		t.Fatalf("what-if failed:\n%s", stderr)
	}
	if !strings.Contains(stderr, "Prometheus of cluster cluster-west (context west)") || !strings.Contains(stderr, "the edges it holds are not replayed") {
		t.Errorf("the Prometheus that does not answer is not named:\n%s", stderr)
	}
	var report struct {
		Edges []struct {
			Destination struct{ Cluster string }
		}
		Clusters []struct{ ID, Context string }
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(report.Edges, report.Clusters); got != "[{{cluster-east}}] [{cluster-east east} {cluster-west west}]" {
		t.Errorf("edges and clusters %s:\n%s", got, stdout)
	}
}

// One Prometheus for the mesh that does not answer: the error names it, without the password
// its URL holds.
func TestWhatIfContextsGlobalPrometheusDown(t *testing.T) {
	root, _, _ := twoWhyClusters(t, false)
	_, stderr, code := run(root, "what-if", "-f", denyApp1(t), "--contexts", "east,west", "--prometheus-url", "http://user:secret@127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, "could not read it") || strings.Contains(stderr, "secret") {
		t.Errorf("exit %d, want 1 naming the Prometheus without its password:\n%s", code, stderr)
	}
}
