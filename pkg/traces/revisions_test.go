package traces

import (
	"slices"
	"strings"
	"testing"
)

// cart@v1 forwards the context, cart@v2 does not: a quarter of the calls to ledger come
// from v2 and start new traces.
const (
	cartV1Forwards = `
gw  -   istio-system/istio-ingressgateway client 0  50 200 shop/cart
c   gw  shop/cart@v1                      server 2  45 200 -
cl  c   shop/cart@v1                      client 10 20 200 shop/ledger
l   cl  shop/ledger@v1                    server 11 18 200 -
`
	cartV2Drops = `
gw  -   istio-system/istio-ingressgateway client 0  50 200 shop/cart
c   gw  shop/cart@v2                      server 2  45 200 -
cl  -   shop/cart@v2                      client 10 20 200 shop/ledger
l   cl  shop/ledger@v1                    server 11 18 200 -
`
)

var (
	cartV1, cartV2, ledgerV1 = Workload{"cart", "shop", "v1"}, Workload{"cart", "shop", "v2"}, Workload{"ledger", "shop", "v1"}
	cart, ledger             = Workload{Service: "cart", Namespace: "shop"}, Workload{Service: "ledger", Namespace: "shop"}
)

func cartTraces(t *testing.T) []Trace {
	return append(repeat(t, 15, cartV1Forwards), repeat(t, 5, cartV2Drops)...)
}

// Judged per revision, as graph's edges are per workload, the version that drops is named.
func TestCheckPerRevision(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edges []Edge
		want  []string
	}{
		{"edges from Prometheus, per workload", []Edge{{cartV1, ledgerV1}, {cartV2, ledgerV1}}, []string{
			"shop/cart@v1 -> shop/ledger@v1: propagates (15 traces)",
			"shop/cart@v2 -> shop/ledger@v1: drops context (5 traces)",
		}},
		{"edges the traces show", EdgesOf(cartTraces(t)), []string{
			"istio-system/istio-ingressgateway -> shop/cart@v1: starts traces (15 traces)",
			"istio-system/istio-ingressgateway -> shop/cart@v2: starts traces (5 traces)",
			"shop/cart@v1 -> shop/ledger@v1: propagates (15 traces)",
			"shop/cart@v2 -> shop/ledger@v1: drops context (5 traces)",
		}},
		// Without revisions (spans that do not say them, or a service-wide edge) the calls
		// are partly joined: never "propagates".
		{"per service", []Edge{{cart, ledger}}, []string{"shop/cart -> shop/ledger: partly drops context (20 traces)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verdicts := Check(tc.edges, cartTraces(t))
			if got := states(verdicts); !slices.Equal(got, tc.want) {
				t.Errorf("verdicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, v := range verdicts {
				if v.Edge.From.Revision == "v2" && !strings.Contains(v.Fix, "make shop/cart@v2 copy traceparent") {
					t.Errorf("fix %q does not name cart@v2", v.Fix)
				}
			}
		})
	}
}

// Spans without istio.canonical_revision match an edge of any revision of their service.
func TestCheckSpansWithoutRevision(t *testing.T) {
	plain := strings.NewReplacer("@v1", "", "@v2", "").Replace(cartV2Drops)
	v := Check([]Edge{{cartV2, ledgerV1}}, repeat(t, 5, plain))[0]
	if v.State != Drops || v.Calls != 5 {
		t.Errorf("verdict %+v", v)
	}
}

// A callee that leaves no span (no sidecar): the caller's client spans are its calls, joined
// when they have a parent.
func TestCheckCalleeWithoutSpans(t *testing.T) {
	joined := repeat(t, 5, `
c   -   shop/cart@v1 server 0  45 200 -
cl  c   shop/cart@v1 client 10 20 200 shop/ledger
`)
	if v := Check([]Edge{{cartV1, ledger}}, joined)[0]; v.State != Propagates || v.Calls != 5 || v.Joined != 5 {
		t.Errorf("verdict %+v, want propagates", v)
	}
	dropped := append(joined, repeat(t, 2, `
c   -   shop/cart@v1 server 0  45 200 -
cl  -   shop/cart@v1 client 10 20 200 shop/ledger
`)...)
	if v := Check([]Edge{{cartV1, ledger}}, dropped)[0]; v.State != PartlyDrops || v.Calls != 7 || v.Joined != 5 {
		t.Errorf("verdict %+v, want partly drops", v)
	}
}

func TestWorkloadNames(t *testing.T) {
	if got := cartV2.String(); got != "shop/cart@v2" {
		t.Errorf("String() = %q", got)
	}
	if !cartV2.Has(cart) || !cart.Has(cartV2) || cartV1.Has(cartV2) || cartV1.Has(ledgerV1) {
		t.Error("Has matches the wrong spans")
	}
}
