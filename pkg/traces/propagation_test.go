package traces

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	gateway     = Workload{Service: "istio-ingressgateway", Namespace: "istio-system"}
	productpage = Workload{Service: "productpage", Namespace: "default"}
	reviews     = Workload{Service: "reviews", Namespace: "default"}
	ratings     = Workload{Service: "ratings", Namespace: "default"}
	details     = Workload{Service: "details", Namespace: "default"}
	bookinfo    = []Edge{{gateway, productpage}, {productpage, details}, {productpage, reviews}, {reviews, ratings}}
)

func repeat(t *testing.T, n int, table string) []Trace {
	var out []Trace
	for i := range n {
		out = append(out, traceOf(t, fmt.Sprintf("t%d", i), table))
	}
	return out
}

func states(vs []Verdict) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s: %s (%d traces)", v.Edge, v.State, v.Traces))
	}
	return out
}

func TestCheckPropagatingChain(t *testing.T) {
	got := states(Check(bookinfo, repeat(t, 6, bookinfoTrace)))
	want := []string{
		"default/productpage -> default/details: propagates (6 traces)",
		"default/productpage -> default/reviews: propagates (6 traces)",
		"default/reviews -> default/ratings: propagates (6 traces)",
		"istio-system/istio-ingressgateway -> default/productpage: starts traces (6 traces)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("verdicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// reviews does not forward the headers: its sidecar starts a new trace for each call to
// ratings (the client span is a root), as Envoy does for a request without trace context.
const reviewsDrops = `
gw  -   istio-system/istio-ingressgateway client 0   100 200 default/productpage
pp  gw  default/productpage                server 2   97  200 -
ppr pp  default/productpage                client 20  75  200 default/reviews
r   ppr default/reviews                    server 22  71  200 -
rr  -   default/reviews                    client 30  60  200 default/ratings
ra  rr  default/ratings                    server 32  56  200 -
`

func TestCheckNamesTheCallerThatDrops(t *testing.T) {
	verdicts := Check(bookinfo[2:], repeat(t, 8, reviewsDrops))
	got := states(verdicts)
	want := []string{
		"default/productpage -> default/reviews: propagates (8 traces)",
		"default/reviews -> default/ratings: drops context (8 traces)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("verdicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v := verdicts[1]; !strings.Contains(v.Fix, "make default/reviews copy traceparent") {
		t.Errorf("fix %q does not say what reviews must forward", v.Fix)
	}
}

// A caller whose proxy continues the trace while the callee's span starts a new one: the
// callee's spans never hang under the caller's.
func TestCheckCalleeSpansWithoutTheCallersParent(t *testing.T) {
	traces := repeat(t, 6, `
pp  -   default/productpage server 0  90 200 -
ppr pp  default/productpage client 10 70 200 default/reviews
r   -   default/reviews     server 11 68 200 -
`)
	edges := EdgesOf(traces)
	if got := states(Check(edges, traces)); len(got) != 1 || got[0] != "default/productpage -> default/reviews: drops context (6 traces)" {
		t.Errorf("verdicts %q", got)
	}
}

func TestCheckOrphanServerSpans(t *testing.T) {
	// No client span at all for the lost hop: ratings' spans are roots; reviews is its one caller.
	traces := repeat(t, 5, `
r   -   default/reviews server 0  70 200 -
ra  -   default/ratings server 30 20 200 -
`)
	if got := states(Check([]Edge{{reviews, ratings}}, traces)); got[0] != "default/reviews -> default/ratings: drops context (5 traces)" {
		t.Errorf("verdict %q", got)
	}
	// With two callers an orphan cannot be put down to either.
	two := []Edge{{reviews, ratings}, {productpage, ratings}}
	for _, v := range Check(two, traces) {
		if v.State != Unknown {
			t.Errorf("%s: %s, want unknown", v.Edge, v.State)
		}
	}
}

func TestCheckThinSamplingIsUnknown(t *testing.T) {
	verdicts := Check([]Edge{{reviews, ratings}}, repeat(t, MinTraces-1, reviewsDrops))
	if v := verdicts[0]; v.State != Unknown || v.Traces != MinTraces-1 || !strings.Contains(v.Fix, "sampling") {
		t.Errorf("verdict %+v, want unknown with a sampling fix", v)
	}
	// A thin edge is unknown even when its few calls are joined.
	if v := Check([]Edge{{From: productpage, To: details}}, repeat(t, 2, bookinfoTrace))[0]; v.State != Unknown || v.Joined != 2 {
		t.Errorf("verdict %+v, want unknown on 2 joined traces", v)
	}
	// An edge with traffic and no trace at all.
	if v := Check([]Edge{{details, ratings}}, repeat(t, 10, bookinfoTrace))[0]; v.State != Unknown || v.Traces != 0 {
		t.Errorf("verdict %+v, want unknown on no traces", v)
	}
}

// An edge whose calls are only partly joined never reads "propagates".
func TestCheckPartlyJoinedIsNotPropagation(t *testing.T) {
	traces := append(repeat(t, 6, reviewsDrops), traceOf(t, "good", bookinfoTrace))
	v := Check([]Edge{{reviews, ratings}}, traces)[0]
	if v.State != PartlyDrops || v.Joined != 1 || v.Calls != 7 || !strings.Contains(v.Why, "6 of 7 calls to default/ratings start new traces") ||
		!strings.Contains(v.Fix, "make default/reviews copy traceparent") {
		t.Errorf("verdict %+v, want partly drops on 1 joined call of 7", v)
	}
}

func TestEdgesOf(t *testing.T) {
	got := EdgesOf(repeat(t, 2, bookinfoTrace))
	if len(got) != 4 || got[0].String() != "default/productpage -> default/details" || got[3].From != gateway {
		t.Errorf("edges %v", got)
	}
}

func TestSlowestPerEdge(t *testing.T) {
	fast := traceOf(t, "fast", bookinfoTrace)
	slow := traceOf(t, "slow", bookinfoTrace)
	slow.Spans[len(slow.Spans)-1].Duration += time.Millisecond // ratings' server span
	got := SlowestPerEdge([]Trace{fast, slow})
	if got[Edge{reviews, ratings}] != "slow" || got[Edge{productpage, details}] != "fast" || got[Edge{gateway, productpage}] != "fast" {
		t.Errorf("slowest per edge: %v", got)
	}
}
