//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/otlp"
)

// cartVersionTraces: 20 requests gateway -> cart -> ledger; a quarter go to cart v2, which
// does not forward the headers, so its calls to ledger start traces of their own; cart v1
// forwards them.
func cartVersionTraces(now time.Time) []otlp.Span {
	var spans []otlp.Span
	for i := range 20 {
		rev := "v1"
		if i%4 == 3 {
			rev = "v2"
		}
		hops := []hop{
			{caller: "istio-ingressgateway", callee: "cart", took: 40 * time.Millisecond, carried: true, code: 200, calleeRev: rev},
			{caller: "cart", callee: "ledger", start: 5 * time.Millisecond, took: 10 * time.Millisecond, carried: rev == "v1", code: 200, callerRev: rev, calleeRev: "v1"},
		}
		spans = append(spans, traceSpans(100+i, now.Add(-time.Duration(10+i)*time.Second), hops)...)
	}
	return spans
}

// traces --check judges each edge per canonical service and revision: the version that drops
// the context is named, not hidden behind the one that forwards it.
func TestTracesCheckPerRevision(t *testing.T) {
	t.Parallel()
	j := startJaegerWith(t, cartVersionTraces(time.Now()))
	for _, spelling := range [][]string{{"mesh", "traces"}, {"mesh-traces"}} {
		name := strings.Join(spelling, " ")
		r := plugin(t, cluster, append(spelling, "-n", "shop", "--check", "--jaeger-url", j.QueryURL)...)
		if r.code != 0 {
			t.Fatalf("%s --check:\n%s", name, r)
		}
		verdicts := map[string]string{}              // "caller callee" -> "traces verdict"
		table, _, _ := strings.Cut(r.stdout, "\n\n") // the rows, before what to do
		for _, line := range strings.Split(table, "\n")[1:] {
			if f := strings.Fields(line); len(f) >= 4 {
				verdicts[f[0]+" "+f[1]] = f[2] + " " + strings.Join(f[3:], " ")
			}
		}
		for edge, want := range map[string]string{
			"istio-system/istio-ingressgateway shop/cart@v1": "15 starts traces",
			"istio-system/istio-ingressgateway shop/cart@v2": "5 starts traces",
			"shop/cart@v1 shop/ledger@v1":                    "15 propagates",
			"shop/cart@v2 shop/ledger@v1":                    "5 drops context",
		} {
			if got := verdicts[edge]; !strings.HasPrefix(got, want) {
				t.Errorf("%s --check: %s reads %q, want %q:\n%s", name, edge, got, want, r.stdout)
			}
		}
		if len(verdicts) != 4 {
			t.Errorf("%s --check: want 4 edges:\n%s", name, r.stdout)
		}
		if !strings.Contains(r.stdout, "shop/cart@v2 drops the trace context: make shop/cart@v2 copy traceparent") {
			t.Errorf("%s --check does not say what cart v2 must forward:\n%s", name, r.stdout)
		}
	}
}
