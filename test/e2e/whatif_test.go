//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// seen is one edge as the stub Prometheus serves it: who called which workload (through which
// Service), how, and what the reporting proxy answered, so many times.
type seen struct {
	reporter           string // destination (default) or waypoint
	srcWorkload, srcSA string // "" for a plaintext caller, whom the destination knows nothing of
	srcNS              string
	dst, service       string // destination workload (app-version) and the Service called
	protocol           string // http (default) or tcp
	refused            bool   // 403 (http) or response flag DENY (tcp)
}

func (e seen) mtls() bool { return e.srcSA != "" }

func (e seen) String() string {
	src := "unknown (plaintext: no identity)"
	if e.mtls() {
		src = e.srcNS + "/" + e.srcWorkload
	}
	return src + " -> " + e.dst
}

// series is e as a sample of a vector answer, into namespace ns.
func (e seen) series(ns string) string {
	unknown := func(v string) string { return map[bool]string{true: "unknown", false: v}[v == ""] }
	app, version, _ := strings.Cut(e.dst, "-")
	l := map[string]string{
		"reporter": unknown(e.reporter), "source_workload": unknown(e.srcWorkload), "source_workload_namespace": unknown(e.srcNS),
		"source_principal": "unknown", "destination_workload": e.dst, "destination_workload_namespace": ns,
		"destination_app": app, "destination_version": version, "destination_service_name": e.service,
		"destination_service_namespace": ns, "connection_security_policy": "none", "request_protocol": e.protocol, "response_flags": "-", "response_code": "200",
	}
	if e.reporter == "" {
		l["reporter"] = "destination"
	}
	if e.mtls() {
		l["source_principal"] = "spiffe://cluster.local/ns/" + e.srcNS + "/sa/" + e.srcSA
		l["connection_security_policy"] = "mutual_tls"
	} else if e.protocol == "tcp" {
		l["connection_security_policy"] = "unknown" // ztunnel's word for plaintext
	}
	if e.refused {
		l["response_code"], l["response_flags"] = "403", "DENY"
	}
	metric, _ := json.Marshal(l)
	return fmt.Sprintf(`{"metric":%s,"value":[1700000000,"120"]}`, metric)
}

// stubPrometheus answers what-if's and lockdown's queries about namespace ns with edges, as
// Prometheus would: HTTP edges for istio_requests_total, TCP ones for the connection
// counters, refused ones left out where the query filters them out.
func stubPrometheus(t *testing.T, ns string, edges []seen) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		var result []string
		for _, e := range edges {
			tcp := e.protocol == "tcp"
			switch {
			case !strings.Contains(q, `"`+ns+`"`), tcp != strings.Contains(q, "istio_tcp_"),
				e.refused && strings.Contains(q, `response_flags!~`):
				continue
			}
			result = append(result, e.series(ns))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(result, ","))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// whatIfReport is the part of what-if's -o json the tests read.
type whatIfReport struct {
	Window string `json:"window"`
	Edges  []struct {
		Source struct {
			Workload, Namespace string
		} `json:"source"`
		Destination struct {
			Workload, Namespace string
		} `json:"destination"`
		Before, After, Change string
		DecidedBy             *struct{ Kind, Namespace, Name string } `json:"decidedBy"`
		EnforcedAt            string                                  `json:"enforcedAt"`
	} `json:"edges"`
}

// listed are the report's edges as "CHANGE SOURCE -> DESTINATION", sorted.
func (r whatIfReport) listed() []string {
	var out []string
	for _, e := range r.Edges {
		src := "unknown (plaintext: no identity)"
		if e.Source.Workload != "" {
			src = e.Source.Namespace + "/" + e.Source.Workload
		}
		out = append(out, e.Change+" "+src+" -> "+e.Destination.Workload)
	}
	slices.Sort(out)
	return out
}

func whatIf(t *testing.T, args ...string) (whatIfReport, result) {
	t.Helper()
	r := plugin(t, cluster, append(args, "-o", "json")...)
	var report whatIfReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("%s -o json printed something else (%v):\n%s", strings.Join(args, " "), err, r)
	}
	return report, r
}

// securityState is every AuthorizationPolicy and PeerAuthentication of the cluster, typed,
// for the simulator's reading; and the namespace's objects' resource versions, which change
// with any write.
func securityState(t *testing.T, ns string) ([]*securityv1.AuthorizationPolicy, []*securityv1.PeerAuthentication, string) {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", "peerauthentications.security.istio.io", "-A", "-o", "json"))
	var pas securityv1.PeerAuthenticationList
	if err := json.Unmarshal([]byte(r.stdout), &pas); err != nil {
		t.Fatal(err)
	}
	versions := mustSucceed(t, kubectl(t, "get", "peerauthentications.security.istio.io,authorizationpolicies.security.istio.io", "-n", ns,
		"-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}"))
	return clusterPolicies(t), pas.Items, versions.stdout
}

// simulatedChanges are the edges whose verdict the simulator (which shares no code with the
// plugins) finds changed between two states of the policies, as "CHANGE SOURCE -> DEST".
func simulatedChanges(edges []seen, allowed func(e seen, aps []*securityv1.AuthorizationPolicy, pas []*securityv1.PeerAuthentication) bool,
	beforeAPs, afterAPs []*securityv1.AuthorizationPolicy, beforePAs, afterPAs []*securityv1.PeerAuthentication) []string {
	var out []string
	for _, e := range edges {
		b, a := allowed(e, beforeAPs, beforePAs), allowed(e, afterAPs, afterPAs)
		switch {
		case b && !a:
			out = append(out, "newly-denied "+e.String())
		case a && !b:
			out = append(out, "newly-allowed "+e.String())
		}
	}
	slices.Sort(out)
	return out
}

// sidecarAllowed is the simulator's verdict on e at its destination's sidecar: STRICT refuses
// plaintext, DISABLE makes callers send plaintext, then the policies decide (GET / on 9080).
func sidecarAllowed(workloads []*sim.Workload) func(seen, []*securityv1.AuthorizationPolicy, []*securityv1.PeerAuthentication) bool {
	return func(e seen, aps []*securityv1.AuthorizationPolicy, pas []*securityv1.PeerAuthentication) bool {
		i := slices.IndexFunc(workloads, func(w *sim.Workload) bool { return w.Labels["app"]+"-"+w.Labels["version"] == e.dst })
		w := workloads[i]
		call := sim.Call{Method: "GET", Path: "/", Port: 9080}
		switch mode := sim.EffectiveMTLS(pas, w, 9080); {
		case !e.mtls() && mode == sim.Strict:
			return false
		case e.mtls() && mode != sim.Disable:
			call.Principal, call.Namespace = "cluster.local/ns/"+e.srcNS+"/sa/"+e.srcSA, e.srcNS
		}
		return sim.Authorize(aps, w, call)
	}
}

// writeChange writes a manifest to a file for -f.
func writeChange(t *testing.T, manifest string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "change.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sidecarTraffic is what the stub saw into bookinfo in ns: productpage's calls, reviews' to
// ratings, a plaintext client of productpage, and a stranger reviews refuses today.
func sidecarTraffic(ns string) []seen {
	return []seen{
		{srcWorkload: "productpage-v1", srcSA: "bookinfo-productpage", srcNS: ns, dst: "reviews-v1", service: "reviews"},
		{srcWorkload: "productpage-v1", srcSA: "bookinfo-productpage", srcNS: ns, dst: "details-v1", service: "details"},
		{srcWorkload: "reviews-v2", srcSA: "bookinfo-reviews", srcNS: ns, dst: "ratings-v1", service: "ratings"},
		{dst: "productpage-v1", service: "productpage"},
		{srcWorkload: "stranger", srcSA: "stranger", srcNS: "whatif-strangers", dst: "reviews-v1", service: "reviews", refused: true},
		{dst: "reviews-v1", service: "reviews", refused: true},
	}
}

const reviewsCallers = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-callers, namespace: %s}
spec:
  selector: {matchLabels: {app: reviews}}
  rules: [{from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-productpage]}}]}]
`

// tighter: productpage may no longer call details (DENY), STRICT for the namespace, and
// reviews admits the strangers' namespace beside productpage.
const tighter = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: details-no-productpage}
spec:
  action: DENY
  selector: {matchLabels: {app: details}}
  rules: [{from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-productpage]}}]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-strangers}
spec:
  selector: {matchLabels: {app: reviews}}
  rules: [{from: [{source: {namespaces: [whatif-strangers]}}]}]
`

// what-if on tighter policies and on a deletion lists exactly the edges whose verdict the
// simulator finds changed once the change is really applied, writes nothing, and exits 1
// under --fail-on denied when something would break.
func TestWhatIfSidecar(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ns     string
		args   func(ns string) []string
		change func(t *testing.T, ns string)
		want   []string
	}{
		{ns: "whatif-tighter",
			args: func(ns string) []string { return []string{"-f", writeChange(t, fmt.Sprintf(tighter, ns))} },
			change: func(t *testing.T, ns string) {
				mustSucceed(t, kubectl(t, "apply", "-n", ns, "-f", writeChange(t, fmt.Sprintf(tighter, ns))))
			},
			want: []string{"newly-allowed whatif-strangers/stranger -> reviews-v1", "newly-denied unknown (plaintext: no identity) -> productpage-v1",
				"newly-denied whatif-tighter/productpage-v1 -> details-v1"}},
		{ns: "whatif-delete",
			args: func(string) []string { return []string{"--delete", "authorizationpolicy/reviews-callers"} },
			change: func(t *testing.T, ns string) {
				mustSucceed(t, kubectl(t, "delete", "authorizationpolicy.security.istio.io/reviews-callers", "-n", ns))
			},
			want: []string{"newly-allowed unknown (plaintext: no identity) -> reviews-v1", "newly-allowed whatif-strangers/stranger -> reviews-v1"}},
	} {
		t.Run(tc.ns, func(t *testing.T) {
			t.Parallel()
			ns := bookinfoNamespace(t, tc.ns)
			apply(t, fmt.Sprintf(reviewsCallers, ns))
			traffic := sidecarTraffic(ns)
			url := stubPrometheus(t, ns, traffic)
			beforeAPs, beforePAs, versions := securityState(t, ns)

			report, r := whatIf(t, append([]string{"mesh", "what-if", "-n", ns, "--prometheus-url", url}, tc.args(ns)...)...)
			mustSucceed(t, r)
			if _, _, now := securityState(t, ns); now != versions {
				t.Errorf("what-if wrote: resource versions %q, then %q", versions, now)
			}
			failing := plugin(t, cluster, append([]string{"mesh-what-if", "-n", ns, "--prometheus-url", url, "--fail-on", "denied"}, tc.args(ns)...)...)
			if breaks := slices.ContainsFunc(tc.want, func(s string) bool { return strings.HasPrefix(s, "newly-denied") }); (failing.code == 1) != breaks {
				t.Errorf("--fail-on denied: exit %d where something breaks is %v\n%s", failing.code, breaks, failing)
			}

			tc.change(t, ns)
			afterAPs, afterPAs, _ := securityState(t, ns)
			oracle := simulatedChanges(traffic, sidecarAllowed(meshWorkloads(t, ns)), beforeAPs, afterAPs, beforePAs, afterPAs)
			if got := report.listed(); !slices.Equal(got, oracle) || !slices.Equal(got, tc.want) {
				t.Errorf("what-if lists:\n  %s\nthe simulator, once applied:\n  %s\nwant:\n  %s\n%s", strings.Join(got, "\n  "), strings.Join(oracle, "\n  "), strings.Join(tc.want, "\n  "), r)
			}
		})
	}
}

// A namespace that does not exist is an error, before anything is replayed; so is a deletion
// of what does not exist.
func TestWhatIfBadInput(t *testing.T) {
	t.Parallel()
	url := stubPrometheus(t, "whatif-none", nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--delete", "authorizationpolicy/x", "-n", "whatif-no-such-namespace"}, `error: namespace "whatif-no-such-namespace" not found`},
		{[]string{"--delete", "authorizationpolicy/x", "-n", "default"}, "error: authorizationpolicy/x in namespace default not found: nothing to delete"},
		{[]string{"-f", "no-such.yaml", "-n", "default"}, "error: -f no-such.yaml: no such file or directory"},
		{[]string{"--delete", "authorizationpolicy/x", "--window", "1x"}, `error: --window "1x" is not a duration`},
	} {
		r := plugin(t, cluster, append([]string{"mesh", "what-if", "--prometheus-url", url}, tc.args...)...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, tc.want) {
			t.Errorf("what-if %s: want exit 1 and %q\n%s", strings.Join(tc.args, " "), tc.want, r)
		}
	}
}

// meshWorkload is the simulator's view of the pod of ns whose app-version is dst.
func meshWorkload(t *testing.T, ns, dst string, ambient bool) *sim.Workload {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", "pods", "-n", ns, "-o", "json"))
	var pods corev1.PodList
	if err := json.Unmarshal([]byte(r.stdout), &pods); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Labels["app"]+"-"+p.Labels["version"] == dst {
			return &sim.Workload{Namespace: ns, Name: dst, Labels: p.Labels, ServiceAccount: p.Spec.ServiceAccountName, Ambient: ambient, Sidecar: !ambient}
		}
	}
	t.Fatalf("no pod %s in %s", dst, ns)
	return nil
}
