//go:build e2e

package sandbox_test

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// Envoy writes every flag it set, comma-joined: graph reads each. ratings' route delays half
// the requests and aborts some (FI, or DI,FI: the source's sidecar answers, the destination
// never sees them), and retries 5xx (each attempt reaches ratings, which reports it; the
// source reports the request once, URX or DI,URX when the attempts ran out). Each request
// counts once: the destination's reports, plus the aborts only the source saw, and nothing
// for URX.
func TestGraphReadsEachResponseFlag(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	kubectlApply(t, sb, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - fault:
      delay: {percentage: {value: 50}, fixedDelay: 1ms}
      abort: {percentage: {value: 20}, httpStatus: 503}
    retries: {attempts: 2, retryOn: 5xx}
    route:
    - destination: {host: ratings}
`)
	if out, err := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "annotate", "deployment", "ratings-v1", "-n", "default", sim.ErrorRateAnnotation+"=0.5").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	const window = "20s"
	source := func(caller, flags string) string {
		return fmt.Sprintf(`sum(rate(istio_requests_total{reporter="source",source_workload=%q,destination_workload="ratings-v1",response_flags=%q}[%s])) or vector(0)`, caller, flags, window)
	}
	// Both callers' aborts and exhausted retries at the instant the graph is evaluated at
	// (--time takes whole seconds; a series seen once has no rate yet).
	var at time.Time
	for deadline := time.Now().Add(time.Minute); ; {
		at = time.Unix(time.Now().Unix(), 0)
		seen := true
		var queries []string
		for _, caller := range []string{"reviews-v2", "reviews-v3"} {
			for _, flags := range []string{"FI", "DI,FI", "URX", "DI,URX"} {
				queries = append(queries, source(caller, flags))
			}
		}
		for _, q := range queries {
			v, err := sb.QueryAt(t.Context(), q, at)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			seen = seen && v > 0
		}
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no aborts (FI, DI,FI) and exhausted retries (URX, DI,URX) from reviews-v2 and -v3 within a minute")
		}
		time.Sleep(500 * time.Millisecond) // polling Prometheus, not waiting on a guess
	}
	g := graphOf(t, path, sb, "-n", "default", "--window", window, "--time", fmt.Sprint(at.Unix()))
	promql := func(q string) float64 {
		t.Helper()
		v, err := sb.QueryAt(t.Context(), q, at)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	checked := 0
	for _, e := range g.Edges {
		if e.Destination.Workload != "ratings-v1" || e.Protocol != "http" {
			continue
		}
		checked++
		name := e.Source.Workload + " -> ratings-v1"
		sel := fmt.Sprintf(`source_workload=%q,source_workload_namespace="default",destination_workload="ratings-v1",request_protocol="http"`, e.Source.Workload)
		rate := func(extra string) float64 {
			return promql(fmt.Sprintf(`sum(rate(istio_requests_total{%s,%s}[%s])) or vector(0)`, sel, extra, window))
		}
		received, failed := rate(`reporter="destination"`), rate(`reporter="destination",response_code=~"5..|0"`)
		aborted := rate(`reporter="source",response_flags=~"FI|DI,FI"`)
		assertClose(t, name+" rps (the destination's, plus the aborts only the source saw)", e.RPS, received+aborted)
		assertClose(t, name+" error rate", e.ErrorRate, (failed+aborted)/(received+aborted))
		if e.Reporter != "destination" {
			t.Errorf("%s: reported by %s", name, e.Reporter)
		}
	}
	if checked == 0 {
		t.Fatalf("no edge into ratings-v1: %+v", g)
	}
}
