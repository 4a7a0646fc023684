//go:build e2e

// Package sandbox_test starts the mesh sandbox and shows, through PromQL on the real
// Prometheus, that the simulated data plane honours what plain kubectl configures: route
// weights, STRICT mTLS, and AuthorizationPolicies.
package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// startSandbox starts a sandbox without Jaeger; startTracedSandbox with it.
func startSandbox(t *testing.T) *sandbox.Sandbox { return start(t, false) }

func startTracedSandbox(t *testing.T) *sandbox.Sandbox { return start(t, true) }

func start(t *testing.T, tracing bool) *sandbox.Sandbox {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// Faster than the demo's defaults, so that each change shows within seconds.
	sb, err := sandbox.Start(ctx, sandbox.Options{
		RepoRoot: root, Dir: t.TempDir(), Scrape: time.Second, Refresh: 500 * time.Millisecond, NoTracing: !tracing,
		Entries: []sim.Entry{
			{Namespace: "istio-system", App: "istio-ingressgateway", RPS: 60},
			{Namespace: "legacy", App: "curl-client", Service: "productpage.default", RPS: 10},
			{Namespace: "istio-system", App: "istio-ingressgateway", Service: "productpage." + sandbox.GatewayAPINamespace, RPS: 60},
			{Namespace: sandbox.AmbientNamespace, App: "bookinfo-gateway", Service: "productpage." + sandbox.AmbientNamespace, RPS: 60},
			{Namespace: "legacy", App: "curl-client", Service: "productpage." + sandbox.AmbientNamespace, RPS: 10},
		},
	})
	if err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	t.Cleanup(sb.Stop)
	return sb
}

func kubectlApply(t *testing.T, sb *sandbox.Sandbox, manifest string) {
	t.Helper()
	cmd := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out.String())
	}
}

// eventually polls PromQL until ok accepts the value of every query, or fails after a minute
// with the last values seen.
func eventually(t *testing.T, sb *sandbox.Sandbox, what string, ok func(v []float64) bool, queries ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last []float64
	for time.Now().Before(deadline) {
		last = last[:0]
		for _, q := range queries {
			v, err := sb.Query(t.Context(), q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			last = append(last, v)
		}
		if ok(last) {
			return
		}
		time.Sleep(500 * time.Millisecond) // polling Prometheus, not waiting on a guess
	}
	t.Fatalf("%s: not seen within a minute; last values %v for %q", what, last, queries)
}

// rate of requests into namespace default reported by the destination over the last 5s,
// filtered by selector (the sandbox runs bookinfo in other namespaces too).
func rate(selector string) string {
	return fmt.Sprintf(`sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="default",%s}[5s])) or vector(0)`, selector)
}

func TestSandboxHonoursMeshConfiguration(t *testing.T) {
	if _, err := os.Stat("../../.cache/bin/prometheus"); err != nil {
		t.Fatal("prometheus is not built: run make test-components")
	}
	sb := startSandbox(t)

	// No VirtualService: reviews' traffic spreads over v1, v2 and v3.
	eventually(t, sb, "reviews spread over three versions", func(v []float64) bool {
		return v[0] > 0 && v[1] > 0 && v[2] > 0
	}, rate(`destination_workload="reviews-v1"`), rate(`destination_workload="reviews-v2"`), rate(`destination_workload="reviews-v3"`))

	// 80/20 between v1 and v2, with plain kubectl.
	kubectlApply(t, sb, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 80
    - destination: {host: reviews, subset: v2}
      weight: 20
`)
	eventually(t, sb, "reviews split 80/20", func(v []float64) bool {
		total := v[0] + v[1] + v[2]
		return total > 0 && v[2] == 0 && within(v[1]/total, 0.20, 0.05)
	}, rate(`destination_workload="reviews-v1"`), rate(`destination_workload="reviews-v2"`), rate(`destination_workload="reviews-v3"`))

	// STRICT in default: the plaintext client no longer reaches productpage; meshed callers do.
	eventually(t, sb, "plaintext traffic to productpage before STRICT", func(v []float64) bool { return v[0] > 0 },
		rate(`destination_workload="productpage-v1",connection_security_policy="none"`))
	kubectlApply(t, sb, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec:
  mtls: {mode: STRICT}
`)
	eventually(t, sb, "STRICT removes plaintext", func(v []float64) bool { return v[0] == 0 && v[1] > 0 },
		rate(`destination_workload="productpage-v1",connection_security_policy="none"`),
		rate(`destination_workload="productpage-v1",connection_security_policy="mutual_tls"`))

	// Allow nothing to details: productpage's calls turn into 403s.
	kubectlApply(t, sb, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: details-deny-all, namespace: default}
spec:
  selector: {matchLabels: {app: details}}
`)
	eventually(t, sb, "allow-nothing answers 403", func(v []float64) bool { return v[0] > 0 && v[1] == 0 },
		rate(`destination_workload="details-v1",response_code="403"`),
		rate(`destination_workload="details-v1",response_code="200"`))

	// ALLOW productpage's principal: its calls go through again.
	kubectlApply(t, sb, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: details-from-productpage, namespace: default}
spec:
  selector: {matchLabels: {app: details}}
  action: ALLOW
  rules:
  - from:
    - source: {principals: [cluster.local/ns/default/sa/bookinfo-productpage]}
`)
	eventually(t, sb, "ALLOW by principal lets productpage through", func(v []float64) bool { return v[0] > 0 && v[1] == 0 },
		rate(`destination_workload="details-v1",source_workload="productpage-v1",response_code="200"`),
		rate(`destination_workload="details-v1",response_code="403"`))

	// Latency from an annotation on the Deployment, read live: reviews-v1 slows down.
	cmd := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "annotate", "deployment", "reviews-v1", "-n", "default", sim.LatencyAnnotation+"=300", "--overwrite")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl annotate: %v\n%s", err, out)
	}
	eventually(t, sb, "reviews-v1's p50 follows its annotation", func(v []float64) bool { return v[0] >= 100 },
		`histogram_quantile(0.5, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="default",destination_workload="reviews-v1"}[5s])))`)
}

func within(got, want, tolerance float64) bool { return got >= want-tolerance && got <= want+tolerance }
