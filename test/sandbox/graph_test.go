//go:build e2e

package sandbox_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// The plugin binaries, built once for all the package's tests (each link of the seven
// binaries costs tens of seconds on two cores) and removed when they are done.
var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopMultiSandbox()
	if pluginsDir != "" {
		os.RemoveAll(pluginsDir)
	}
	os.Exit(code)
}

// plugins builds the plugin binaries (once) and returns a PATH that finds them first.
func plugins(t *testing.T) string {
	t.Helper()
	pluginsOnce.Do(func() {
		if pluginsDir, pluginsErr = os.MkdirTemp("", "kubectl-mesh-sandbox-plugins-"); pluginsErr != nil {
			return
		}
		build := exec.Command("go", "build", "-o", pluginsDir+"/", "./cmd/...")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			pluginsErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if pluginsErr != nil {
		t.Fatalf("building the plugins: %v", pluginsErr)
	}
	return pluginsDir + string(os.PathListSeparator) + os.Getenv("PATH")
}

type run struct {
	stdout, stderr string
	code           int
}

func kubectl(t *testing.T, path string, sb *sandbox.Sandbox, args ...string) run {
	t.Helper()
	return kubectlWith(t, path, sb.Cluster.Kubeconfig, args...)
}

// kubectlWith runs kubectl with PATH and a kubeconfig, and no Prometheus or Jaeger of the
// environment's.
func kubectlWith(t *testing.T, path, kubeconfig string, args ...string) run {
	t.Helper()
	cmd := exec.Command("kubectl", args...)
	cmd.Env = append(os.Environ(), "PATH="+path, "KUBECONFIG="+kubeconfig, "MESH_PROMETHEUS_URL=", "MESH_JAEGER_URL=")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

type graphJSON struct {
	Window string `json:"window"`
	Edges  []struct {
		Source       struct{ Namespace, Workload, Service string }
		Destination  struct{ Namespace, Workload, Service string }
		Protocol     string
		RPS          float64  `json:"rps"`
		ErrorRate    float64  `json:"errorRate"`
		P50Ms        *float64 `json:"p50Ms"`
		P95Ms        *float64 `json:"p95Ms"`
		P99Ms        *float64 `json:"p99Ms"`
		Bytes        float64  `json:"bytesPerSecond"`
		MTLS         *float64 `json:"mtls"`
		Reporter     string   `json:"reporter"`
		Waypoint     string   `json:"waypoint"`
		SlowestTrace string   `json:"slowestTrace"`
		Warning      string   `json:"warning"`
	} `json:"edges"`
}

// graphOf runs kubectl mesh graph -o json with args against the sandbox's Prometheus.
func graphOf(t *testing.T, path string, sb *sandbox.Sandbox, args ...string) graphJSON {
	t.Helper()
	r := kubectl(t, path, sb, append([]string{"mesh", "graph", "-o", "json", "--prometheus-url", sb.PrometheusURL}, args...)...)
	var g graphJSON
	if r.code != 0 {
		t.Fatalf("kubectl mesh graph %v: %+v", args, r)
	}
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.stdout)
	}
	return g
}

// The graph's tests share one sandbox (each start costs half a minute on two cores): they
// only read it, but for the errors MatchesPromQL turns on for reviews-v2, which the others
// do not look at.
func TestGraph(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	t.Run("Why", func(t *testing.T) { testWhyObserved(t, path, sb) })
	t.Run("Errors", func(t *testing.T) { testGraphErrors(t, path, sb) })
	t.Run("Watch", func(t *testing.T) { testGraphWatch(t, path, sb) })
	t.Run("MatchesPromQL", func(t *testing.T) { testGraphMatchesPromQL(t, path, sb) })
}

// The graph's numbers are PromQL's: every edge's rate, error rate, quantiles, mTLS share and
// bytes equal the same PromQL evaluated directly at the same instant.
func testGraphMatchesPromQL(t *testing.T, path string, sb *sandbox.Sandbox) {
	// Errors worth measuring: a third of reviews-v2's answers fail.
	if out, err := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "annotate", "deployment", "reviews-v2", "-n", "default", sim.ErrorRateAnnotation+"=0.3").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	eventually(t, sb, "reviews-v2 errors", func(v []float64) bool { return v[0] > 0 }, rate(`destination_workload="reviews-v2",response_code="503"`))

	const window = "20s"
	at := fmt.Sprint(time.Now().Unix())
	// Namespace default is the sidecar bookinfo: every edge into or out of it reaches a sidecar.
	args := []string{"-n", "default", "--window", window, "--time", at, "-o", "json", "--prometheus-url", sb.PrometheusURL}
	umbrella := kubectl(t, path, sb, append([]string{"mesh", "graph"}, args...)...)
	single := kubectl(t, path, sb, append([]string{"mesh-graph"}, args...)...)
	if umbrella.code != 0 || umbrella.stdout != single.stdout {
		t.Fatalf("kubectl mesh graph and kubectl mesh-graph differ or failed:\n%+v\n%+v", umbrella, single)
	}
	var g graphJSON
	if err := json.Unmarshal([]byte(umbrella.stdout), &g); err != nil {
		t.Fatalf("-o json: %v\n%s", err, umbrella.stdout)
	}
	if g.Window != window || len(g.Edges) < 9 {
		t.Fatalf("want at least 9 edges over %s, got %d:\n%s", window, len(g.Edges), umbrella.stdout)
	}
	ts, _ := parseUnix(at)
	promql := func(q string) float64 {
		t.Helper()
		v, err := sb.QueryAt(t.Context(), q, ts)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	seen := map[string]bool{}
	for _, e := range g.Edges {
		name := e.Source.Namespace + "/" + e.Source.Workload + " -> " + e.Destination.Namespace + "/" + e.Destination.Workload
		seen[name] = true
		if e.Reporter != "destination" {
			t.Errorf("%s: reported by %s; the sandbox's edges all reach a sidecar", name, e.Reporter)
			continue
		}
		sel := fmt.Sprintf(`reporter="destination",source_workload=%q,source_workload_namespace=%q,destination_workload=%q,destination_workload_namespace=%q,request_protocol=%q`,
			e.Source.Workload, e.Source.Namespace, e.Destination.Workload, e.Destination.Namespace, e.Protocol)
		if e.Protocol == "tcp" {
			bytes := promql(fmt.Sprintf(`sum(rate(istio_tcp_sent_bytes_total{%s}[%s])) + sum(rate(istio_tcp_received_bytes_total{%s}[%s]))`, sel, window, sel, window))
			assertClose(t, name+" bytes/s", e.Bytes, bytes)
			continue
		}
		total := promql(fmt.Sprintf(`sum(rate(istio_requests_total{%s}[%s]))`, sel, window))
		assertClose(t, name+" rps", e.RPS, total)
		assertClose(t, name+" error rate", e.ErrorRate, promql(fmt.Sprintf(`sum(rate(istio_requests_total{%s,response_code=~"5..|0"}[%s])) or vector(0)`, sel, window))/total)
		assertClose(t, name+" mTLS", *e.MTLS, promql(fmt.Sprintf(`sum(rate(istio_requests_total{%s,connection_security_policy="mutual_tls"}[%s])) or vector(0)`, sel, window))/total)
		for q, got := range map[float64]*float64{0.5: e.P50Ms, 0.95: e.P95Ms, 0.99: e.P99Ms} {
			want := promql(fmt.Sprintf(`histogram_quantile(%g, sum by (le) (rate(istio_request_duration_milliseconds_bucket{%s}[%s])))`, q, sel, window))
			if got == nil {
				t.Errorf("%s: p%g missing (PromQL: %v)", name, q*100, want)
				continue
			}
			assertClose(t, fmt.Sprintf("%s p%g", name, q*100), *got, want)
		}
	}
	for _, want := range []string{
		"unknown/unknown -> default/productpage-v1", // the plaintext client
		"istio-system/istio-ingressgateway -> default/productpage-v1",
		"default/productpage-v1 -> default/reviews-v2",
		"default/ratings-v1 -> default/mongodb-v1",
	} {
		if !seen[want] {
			t.Errorf("no edge %s", want)
		}
	}

	// A namespace's graph reads only the series with the namespace on one side, and is the
	// whole mesh's graph cut to the namespace: the same edges with the same figures.
	everything := kubectl(t, path, sb, "mesh", "graph", "-A", "--window", window, "--time", at, "-o", "json", "--prometheus-url", sb.PrometheusURL)
	for _, namespace := range []string{"default", sandbox.AmbientNamespace, sandbox.GatewayAPINamespace} {
		scoped := kubectl(t, path, sb, "mesh", "graph", "-n", namespace, "--window", window, "--time", at, "-o", "json", "--prometheus-url", sb.PrometheusURL)
		got, want := edgesTouching(t, scoped.stdout, namespace), edgesTouching(t, everything.stdout, namespace)
		if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("graph -n %s differs from graph -A cut to it:\n%s\nwant\n%s", namespace, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	// DOT that a DOT parser reads as the same graph (and Graphviz renders, where installed);
	// the table.
	dotOut := kubectl(t, path, sb, "mesh", "graph", "-n", "default", "--window", window, "--time", at, "-o", "dot", "--prometheus-url", sb.PrometheusURL)
	if dotOut.code != 0 {
		t.Fatalf("-o dot: %+v", dotOut)
	}
	checkDOT(t, dotOut.stdout, g)
	table := kubectl(t, path, sb, "mesh", "graph", "-n", "default", "--window", window, "--time", at, "--prometheus-url", sb.PrometheusURL)
	if table.code != 0 || !strings.HasPrefix(table.stdout, "SOURCE") || !strings.Contains(table.stdout, "default/reviews-v2") {
		t.Errorf("table:\n%+v", table)
	}
}

// edgesTouching returns the edges of a graph -o json into or out of namespace, each as its
// JSON, sorted.
func edgesTouching(t *testing.T, out, namespace string) []string {
	t.Helper()
	var g struct{ Edges []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	var edges []string
	for _, raw := range g.Edges {
		var e struct{ Source, Destination struct{ Namespace string } }
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if e.Source.Namespace == namespace || e.Destination.Namespace == namespace {
			edges = append(edges, string(raw))
		}
	}
	slices.Sort(edges)
	return edges
}

func testGraphErrors(t *testing.T, path string, sb *sandbox.Sandbox) {
	for _, spelling := range [][]string{{"mesh", "graph"}, {"mesh-graph"}} {
		r := kubectl(t, path, sb, append(spelling, "--prometheus-url", "http://127.0.0.1:1")...)
		if r.code != 1 || !strings.Contains(r.stderr, "cannot reach Prometheus at --prometheus-url http://127.0.0.1:1") {
			t.Errorf("%v unreachable: %+v", spelling, r)
		}
	}
	// Nothing found in the cluster, and nowhere else to look.
	r := kubectl(t, path, sb, "mesh", "graph")
	if r.code != 1 || !strings.Contains(r.stderr, "no Prometheus found") || !strings.Contains(r.stderr, "pass --prometheus-url") {
		t.Errorf("no Prometheus: %+v", r)
	}
	// A Prometheus with no Istio metrics in the window: an hour before the sandbox started.
	r = kubectl(t, path, sb, "mesh", "graph", "-A", "--prometheus-url", sb.PrometheusURL, "--time", fmt.Sprint(time.Now().Add(-time.Hour).Unix()))
	if r.code != 1 || !strings.Contains(r.stderr, "has no Istio metrics") {
		t.Errorf("empty Prometheus: %+v", r)
	}
	// Metrics, but no edge touches the namespace: a quiet graph, not an error.
	r = kubectl(t, path, sb, "mesh", "graph", "-n", "kube-public", "--prometheus-url", sb.PrometheusURL)
	if r.code != 0 || r.stdout != "no traffic in the last 5m\n" {
		t.Errorf("quiet namespace: %+v", r)
	}
	// A namespace that does not exist is not a quiet one: a typo is said as such.
	r = kubectl(t, path, sb, "mesh", "graph", "-n", "nowhere", "--prometheus-url", sb.PrometheusURL)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, `namespace "nowhere" not found`) {
		t.Errorf("missing namespace: %+v", r)
	}
	r = kubectl(t, path, sb, "mesh", "graph", "--window", "5x")
	if r.code != 1 || !strings.Contains(r.stderr, `--window "5x" is not a duration`) {
		t.Errorf("bad window: %+v", r)
	}
}

func assertClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.IsNaN(want) && math.IsNaN(got) {
		return
	}
	if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
		t.Errorf("%s: graph %v, PromQL %v", what, got, want)
	}
}

func parseUnix(s string) (time.Time, error) {
	var secs int64
	_, err := fmt.Sscan(s, &secs)
	return time.Unix(secs, 0), err
}

// --watch redraws until interrupted, then exits cleanly.
func testGraphWatch(t *testing.T, path string, sb *sandbox.Sandbox) {
	cmd := exec.Command("kubectl", "mesh", "graph", "-n", "default", "--window", "10s", "--watch", "--interval", "1s", "--prometheus-url", sb.PrometheusURL)
	cmd.Env = append(os.Environ(), "PATH="+path, "KUBECONFIG="+sb.Cluster.Kubeconfig)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	frames, previous := 0, ""
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() && frames < 3 {
		// The header says what the frame shows; piped, a blank line sets frames apart.
		if strings.HasPrefix(scanner.Text(), "Every 1s: kubectl mesh graph -n default --window 10s, ") {
			if frames > 0 && previous != "" {
				t.Errorf("frame %d runs into the one before: %q precedes its header", frames+1, previous)
			}
			frames++
		}
		previous = scanner.Text()
	}
	if frames < 3 {
		t.Fatalf("saw %d frames before the output ended", frames)
	}
	// kubectl execs the plugin in its place, so the signal reaches it directly.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if err := cmd.Wait(); err != nil {
		t.Errorf("--watch did not end cleanly on Ctrl-C: %v", err)
	}
}
