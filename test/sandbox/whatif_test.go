//go:build e2e

package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// edge is one caller -> workload edge into default as the destination's sidecar reports it.
type edge struct {
	srcNS, src, dst, security, protocol string
}

// String names it as what-if's tests do: "SOURCE -> DESTINATION WORKLOAD".
func (e edge) String() string {
	if e.security != "mutual_tls" {
		return "unknown (plaintext: no identity) -> " + e.dst
	}
	return e.srcNS + "/" + e.src + " -> " + e.dst
}

// selector selects e's series as the destination's sidecar reports them.
func (e edge) selector() string {
	return fmt.Sprintf(`reporter="destination",destination_workload_namespace="default",source_workload=%q,destination_workload=%q,connection_security_policy=%q`, orUnknown(e.src), e.dst, e.security)
}

// accepted and refused are the PromQL of e's requests (connections) accepted and refused by
// policy, per second over the last 5s.
func (e edge) accepted() string {
	if e.protocol == "tcp" {
		return fmt.Sprintf(`sum(rate(istio_tcp_connections_opened_total{%s,response_flags!~".*DENY.*"}[5s])) or vector(0)`, e.selector())
	}
	return fmt.Sprintf(`sum(rate(istio_requests_total{%s,response_code="200"}[5s])) or vector(0)`, e.selector())
}

func (e edge) refused() string {
	if e.protocol == "tcp" {
		return fmt.Sprintf(`sum(rate(istio_tcp_connections_opened_total{%s,response_flags=~".*DENY.*"}[5s])) or vector(0)`, e.selector())
	}
	return fmt.Sprintf(`sum(rate(istio_requests_total{%s,response_code="403"}[5s])) or vector(0)`, e.selector())
}

// fed is the PromQL of the requests e's caller itself is served, when it is a workload of
// default: a caller nobody calls any more makes no calls either, whatever the policies.
func (e edge) fed() string {
	if e.srcNS != "default" {
		return "vector(1)" // the ingress gateway and the plaintext client send on their own
	}
	return fmt.Sprintf(`sum(rate(istio_requests_total{reporter="destination",destination_workload=%q,response_code="200"}[5s])) or vector(0)`, e.src)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// edgesIntoDefault are the edges the sandbox's traffic makes into default, once each has
// carried traffic in the last 30s (the database's TCP edge included).
func edgesIntoDefault(t *testing.T, sb *sandbox.Sandbox) []edge {
	t.Helper()
	const group = "source_workload, source_workload_namespace, destination_workload, connection_security_policy, request_protocol"
	q := fmt.Sprintf(`sum by (%[1]s) (rate(istio_requests_total{reporter="destination",destination_workload_namespace="default"}[30s])) or sum by (%[1]s) (rate(istio_tcp_connections_opened_total{reporter="destination",destination_workload_namespace="default"}[30s]))`, group)
	var edges []edge
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) { // polling Prometheus
		edges = nil
		for _, m := range vector(t, sb, q) {
			e := edge{srcNS: m["source_workload_namespace"], src: m["source_workload"], dst: m["destination_workload"], security: m["connection_security_policy"], protocol: m["request_protocol"]}
			if e.src == "unknown" {
				e.src, e.srcNS = "", ""
			}
			if e.protocol == "" {
				e.protocol = "tcp"
			}
			edges = append(edges, e)
		}
		if len(edges) >= 8 { // ingress, plaintext -> productpage; productpage -> details, reviews x3; reviews -> ratings; ratings -> mongodb
			return edges
		}
	}
	t.Fatalf("the sandbox's edges into default did not all show within a minute: %v", edges)
	return nil
}

// vector runs an instant query and returns each sample's labels.
func vector(t *testing.T, sb *sandbox.Sandbox, q string) []map[string]string {
	t.Helper()
	resp, err := http.Get(sb.PrometheusURL + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range body.Data.Result {
		out = append(out, r.Metric)
	}
	return out
}

// assertCutExactly waits until each edge listed (as "newly-denied SOURCE -> DEST") has its
// requests refused (403, or a plaintext handshake refused by STRICT, which nothing reports)
// and none accepted, while no other edge has any refused and each still carries traffic
// (unless its caller is no longer called itself): what-if said what the simulator, which
// shares no code with it, now does.
func assertCutExactly(t *testing.T, sb *sandbox.Sandbox, edges []edge, listed []string) {
	t.Helper()
	query := func(q string) float64 {
		v, err := sb.Query(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var wrong []string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) { // polling Prometheus
		wrong = nil
		for _, e := range edges {
			accepted, refused := query(e.accepted()), query(e.refused())
			cut := slices.Contains(listed, "newly-denied "+e.String())
			ok := accepted == 0 && (refused > 0 || e.security != "mutual_tls")
			if !cut {
				ok = refused == 0 && (accepted > 0 || query(e.fed()) == 0)
			}
			if !ok {
				wrong = append(wrong, fmt.Sprintf("%s (listed as cut: %v; accepted/s %g, refused/s %g)", e, cut, accepted, refused))
			}
		}
		if len(wrong) == 0 {
			return
		}
	}
	t.Errorf("what-if and the traffic disagree, a minute after the change:\n  %s", strings.Join(wrong, "\n  "))
}

// whatIfListed runs what-if (or lockdown --what-if) with -o json and returns its edges as
// "CHANGE SOURCE -> DESTINATION WORKLOAD", sorted.
func whatIfListed(t *testing.T, path string, sb *sandbox.Sandbox, wantCode int, args ...string) []string {
	t.Helper()
	r := kubectl(t, path, sb, append(args, "-o", "json", "--window", "2m", "--prometheus-url", sb.PrometheusURL)...)
	var report struct {
		Edges []struct {
			Source      struct{ Workload, Namespace string }
			Destination struct{ Workload string }
			Change      string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); r.code != wantCode || err != nil {
		t.Fatalf("%s: want exit %d and JSON: %+v", strings.Join(args, " "), wantCode, r)
	}
	var out []string
	for _, e := range report.Edges {
		src := "unknown (plaintext: no identity)"
		if e.Source.Workload != "" {
			src = e.Source.Namespace + "/" + e.Source.Workload
		}
		out = append(out, e.Change+" "+src+" -> "+e.Destination.Workload)
	}
	slices.Sort(out)
	return out
}

const denyReviewsV3 = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-v3-no-productpage, namespace: default}
spec:
  action: DENY
  selector: {matchLabels: {app: reviews, version: v3}}
  rules: [{from: [{source: {principals: [cluster.local/ns/default/sa/bookinfo-productpage]}}]}]
`

// what-if on real traffic: a policy file, then lockdown's own plan. Each lists the edges it
// would cut; applied for real, exactly those stop being accepted by the simulated data plane
// and every other edge goes on.
func TestWhatIfInTheSandbox(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	edges := edgesIntoDefault(t, sb)

	file := filepath.Join(t.TempDir(), "deny.yaml")
	if err := os.WriteFile(file, []byte(denyReviewsV3), 0o600); err != nil {
		t.Fatal(err)
	}
	listed := whatIfListed(t, path, sb, 0, "mesh", "what-if", "-f", file, "-n", "default")
	if want := []string{"newly-denied default/productpage-v1 -> reviews-v3"}; !slices.Equal(listed, want) {
		t.Errorf("what-if -f lists %q, want %q", listed, want)
	}
	kubectlApply(t, sb, denyReviewsV3)
	assertCutExactly(t, sb, edges, listed)
	if out, err := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "delete", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	assertCutExactly(t, sb, edges, nil)

	// Lockdown stops for the plaintext caller; its plan is replayed all the same.
	listed = whatIfListed(t, path, sb, 1, "mesh", "lockdown", "default", "--what-if")
	if want := []string{"newly-denied unknown (plaintext: no identity) -> productpage-v1"}; !slices.Equal(listed, want) {
		t.Errorf("lockdown --what-if lists %q, want %q", listed, want)
	}
	if r := kubectl(t, path, sb, "mesh", "lockdown", "default", "--force", "--window", "2m", "--prometheus-url", sb.PrometheusURL); r.code != 0 {
		t.Fatalf("lockdown --force: %+v", r)
	}
	assertCutExactly(t, sb, edges, listed)
}
