//go:build e2e

package sandbox_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// Lockdown from telemetry: it first stops and names the plaintext caller; with --force every
// meshed edge keeps answering 200 with no 403s while the plaintext client is cut off; undo
// brings plaintext back.
func TestLockdownFromTelemetry(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	eventually(t, sb, "plaintext traffic flows", func(v []float64) bool { return v[0] > 0 },
		rate(`destination_workload="productpage-v1",connection_security_policy="none"`))

	args := []string{"default", "--window", "1m", "--prometheus-url", sb.PrometheusURL}
	r := kubectl(t, path, sb, append([]string{"mesh", "lockdown"}, args...)...)
	for _, want := range []string{"STRICT mTLS would reject traffic seen in telemetry", "default/productpage-v1 receives plaintext traffic", "legacy/curl-client", "--force"} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("want the lockdown to stop and say %q:\n%+v", want, r)
		}
	}
	if out, _ := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "get", "authorizationpolicies,peerauthentications", "-n", "default", "-o", "name").Output(); len(out) != 0 {
		t.Fatalf("a stopped lockdown wrote %s", out)
	}

	dry := kubectl(t, path, sb, append([]string{"mesh-lockdown", "--dry-run", "--force"}, args...)...)
	for _, want := range []string{
		"istio-system/istio-ingressgateway -> productpage-v1 (http",
		"default/productpage-v1 -> reviews-v1 (http",
		"default/ratings-v1 -> mongodb-v1 (tcp",
		"unknown caller (outside the mesh) -> productpage-v1 (http",
		"rejected: plaintext under STRICT",
		"allowed: seen in traffic",
	} {
		if dry.code != 0 || !strings.Contains(dry.stdout, want) {
			t.Errorf("--dry-run lacks %q:\n%+v", want, dry)
		}
	}

	r = kubectl(t, path, sb, append([]string{"mesh", "lockdown", "--force"}, args...)...)
	if r.code != 0 {
		t.Fatalf("lockdown --force: %+v", r)
	}
	for _, edge := range []string{
		`source_workload="istio-ingressgateway",destination_workload="productpage-v1"`,
		`source_workload="productpage-v1",destination_workload="details-v1"`,
		`source_workload="productpage-v1",destination_workload="reviews-v1"`,
		`source_workload="reviews-v2",destination_workload="ratings-v1"`,
	} {
		eventually(t, sb, "meshed edge answers 200 under lockdown: "+edge, func(v []float64) bool { return v[0] > 0 && v[1] == 0 },
			rate(edge+`,response_code="200"`), rate(edge+`,response_code="403"`))
	}
	eventually(t, sb, "no 403 anywhere, plaintext cut off", func(v []float64) bool { return v[0] == 0 && v[1] == 0 },
		rate(`response_code="403"`), rate(`connection_security_policy="none"`))
	eventually(t, sb, "the database still answers", func(v []float64) bool { return v[0] > 0 },
		`sum(rate(istio_tcp_sent_bytes_total{reporter="destination",destination_workload="mongodb-v1"}[5s])) or vector(0)`)
	assertDoctorFindsTheExamples(t, path, sb)

	if r := kubectl(t, path, sb, "mesh", "lockdown", "default", "--undo"); r.code != 0 {
		t.Fatalf("undo: %+v", r)
	}
	eventually(t, sb, "undo brings plaintext back", func(v []float64) bool { return v[0] > 0 },
		rate(`destination_workload="productpage-v1",connection_security_policy="none"`))
}

// --auto rolls back a failing canary and promotes a healthy one.
func TestCanaryAuto(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	annotate := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "annotate", "deployment", "reviews-v2", "-n", "default", "sandbox.kubectl-mesh.dev/error-rate=0.9")
	if out, err := annotate.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The sandbox's traffic is light: a few requests per interval are enough data here.
	common := []string{"--steps", "50,100", "--interval", "6s", "--min-requests", "3", "--prometheus-url", sb.PrometheusURL}

	r := kubectl(t, path, sb, append([]string{"mesh", "canary", "reviews", "--auto", "--max-error-rate", "5"}, common...)...)
	for _, want := range []string{"step 1/2: reviews: v1 50%, v2 50%", "FAIL: error rate", "reviews: v1 100% (was v1 50%, v2 50%); rolled back to v1"} {
		if r.code != 1 || !strings.Contains(r.stdout, want) {
			t.Errorf("failing canary: want exit 1 and %q:\n%+v", want, r)
		}
	}
	if !strings.Contains(r.stderr, "canary v2 failed at step 1/2 (50%): error rate") || !strings.Contains(r.stderr, "rolled back") {
		t.Errorf("failing canary: stderr %q", r.stderr)
	}
	assertRoute(t, sb, "v1 100")

	r = kubectl(t, path, sb, append([]string{"mesh-canary", "reviews", "--auto", "--canary", "v3", "--max-p99", "2s"}, common...)...)
	for _, want := range []string{"step 1/2: reviews: v1 50%, v3 50%", "step 2/2: reviews: v1 0%, v3 100%", ": pass", "all 2 steps passed: reviews: v3 100%"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("healthy canary: want exit 0 and %q:\n%+v", want, r)
		}
	}
	assertRoute(t, sb, "v3 100")

	// The status now carries live figures.
	status := kubectl(t, path, sb, "mesh", "canary", "reviews", "--prometheus-url", sb.PrometheusURL)
	if status.code != 0 || !strings.Contains(status.stdout, "RPS") || !strings.Contains(status.stdout, "P99") {
		t.Errorf("status with live figures:\n%+v", status)
	}

	// The same on Gateway API: the HTTPRoute's backends are the version Services, whose
	// requests Istio reports under their own names.
	ns := sandbox.GatewayAPINamespace
	annotate = exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "annotate", "deployment", "reviews-v3", "-n", ns, "sandbox.kubectl-mesh.dev/error-rate=0.9")
	if out, err := annotate.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r = kubectl(t, path, sb, append([]string{"mesh", "canary", "reviews", "-n", ns, "--auto", "--canary", "v3", "--max-error-rate", "5"}, common...)...)
	for _, want := range []string{"step 1/2: reviews: reviews-v1 50%, reviews-v3 50%", "FAIL: error rate", "rolled back to reviews-v1"} {
		if r.code != 1 || !strings.Contains(r.stdout, want) {
			t.Errorf("failing canary on an HTTPRoute: want exit 1 and %q:\n%+v", want, r)
		}
	}
	assertBackends(t, sb, ns, "reviews-v1 1")
	r = kubectl(t, path, sb, append([]string{"mesh-canary", "reviews", "-n", ns, "--auto", "--max-p99", "2s"}, common...)...)
	for _, want := range []string{"step 1/2: reviews: reviews-v1 50%, reviews-v2 50%", ": pass", "all 2 steps passed: reviews: reviews-v2 100%"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("healthy canary on an HTTPRoute: want exit 0 and %q:\n%+v", want, r)
		}
	}
	assertBackends(t, sb, ns, "reviews-v2 1")
}

// --auto judged against stable over the same interval: a canary three times slower than
// stable fails --max-p99-ratio; thin data holds the step, then rolls back; each judgement
// prints the share of requests the canary received beside its weight.
func TestCanaryAutoAgainstStable(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	resetReviews(t, sb)
	annotate := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "annotate", "deployment", "reviews-v2", "-n", "default", sim.LatencyAnnotation+"=300")
	if out, err := annotate.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	common := []string{"--canary", "v2", "--prometheus-url", sb.PrometheusURL}
	r := kubectl(t, path, sb, append([]string{"mesh", "canary", "reviews", "--auto", "--steps", "50,100", "--interval", "6s", "--min-requests", "3", "--max-error-rate", "100", "--max-p99-ratio", "1.5"}, common...)...)
	for _, want := range []string{"of the requests at weight 50%", "FAIL: p99", "more than --max-p99-ratio 1.5", "rolled back to v1"} {
		if r.code != 1 || !strings.Contains(r.stdout, want) {
			t.Errorf("slow canary: want exit 1 and %q:\n%+v", want, r)
		}
	}
	assertRoute(t, sb, "v1 100")

	r = kubectl(t, path, sb, append([]string{"mesh", "canary", "reviews", "--auto", "--steps", "50", "--interval", "3s", "--min-requests", "1000000", "--max-holds", "1"}, common...)...)
	for _, want := range []string{"HOLD: not enough data", "holding step 1/1 for another 3s (1 of --max-holds 1)", "rolled back to v1"} {
		if r.code != 1 || !strings.Contains(r.stdout, want) {
			t.Errorf("thin data: want exit 1 and %q:\n%+v", want, r)
		}
	}
	if !strings.Contains(r.stderr, "after holding step 1/1 for 1 more intervals (--max-holds 1)") {
		t.Errorf("thin data: stderr %q", r.stderr)
	}
	assertRoute(t, sb, "v1 100")
}

// assertBackends checks the reviews HTTPRoute's backendRefs of ns as stored (the API server
// fills in weight 1 where none is written), read with plain kubectl.
func assertBackends(t *testing.T, sb *sandbox.Sandbox, ns, want string) {
	t.Helper()
	out, err := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "get", "httproute", "reviews", "-n", ns,
		"-o", `jsonpath={range .spec.rules[0].backendRefs[*]}{.name} {.weight}{","}{end}`).Output()
	if err != nil {
		t.Fatalf("kubectl get httproute reviews: %v", err)
	}
	var backends []string
	for _, b := range strings.Split(strings.TrimSuffix(string(out), ","), ",") {
		name, weight, _ := strings.Cut(b, " ")
		if weight == "" {
			weight = "-"
		}
		backends = append(backends, name+" "+weight)
	}
	if got := strings.Join(backends, ", "); got != want {
		t.Errorf("reviews backends %q, want %q", got, want)
	}
}

// assertRoute checks the reviews VirtualService's weights, read with plain kubectl.
func assertRoute(t *testing.T, sb *sandbox.Sandbox, want string) {
	t.Helper()
	out, err := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "get", "virtualservice", "reviews", "-n", "default",
		"-o", `jsonpath={range .spec.http[0].route[*]}{.destination.subset} {.weight}{","}{end}`).Output()
	if err != nil {
		t.Fatalf("kubectl get virtualservice reviews: %v", err)
	}
	if got := strings.TrimSuffix(string(out), ","); got != want {
		t.Errorf("reviews routes %q, want %q", got, want)
	}
}
