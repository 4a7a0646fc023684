//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/otlp"
	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// hop is one call in a recorded trace: caller -> callee in namespace shop, with the callee's
// time, and whether the caller's proxy had context to continue (false: it starts a trace).
type hop struct {
	caller, callee string
	start, took    time.Duration
	carried        bool
	code           int
	// callerRev and calleeRev are the ends' istio.canonical_revision ("": the span has none).
	callerRev, calleeRev string
}

// traceSpans lays out one trace's spans as Istio's proxies send them: per hop a client span
// on the caller's proxy (under the caller's server span when carried, else a root) and a
// server span on the callee's under it. The gateway lives in istio-system.
func traceSpans(id int, at time.Time, hops []hop) []otlp.Span {
	traceID := fmt.Sprintf("%032x", 0xe2e0000+id)
	server := map[string]string{} // service -> its server span in this trace
	var spans []otlp.Span
	for i, h := range hops {
		clientID, serverID := fmt.Sprintf("%08x%08x", id, 2*i+1), fmt.Sprintf("%08x%08x", id, 2*i+2)
		callerNS := "shop"
		if h.caller == "istio-ingressgateway" {
			callerNS = "istio-system"
		}
		host := h.callee + ".shop.svc.cluster.local"
		tags := func(service, namespace, cluster, revision string) map[string]string {
			tags := map[string]string{"istio.canonical_service": service, "istio.namespace": namespace, "upstream_cluster": cluster,
				"http.status_code": fmt.Sprint(h.code), "response_flags": "-", "component": "proxy"}
			if revision != "" {
				tags["istio.canonical_revision"] = revision
			}
			return tags
		}
		parent, traceOf := server[h.caller], traceID
		if !h.carried {
			parent, traceOf = "", fmt.Sprintf("%032x", 0xd0000000+id*100+i) // the caller's proxy starts a new trace
		}
		spans = append(spans,
			otlp.Span{Service: h.caller + "." + callerNS, TraceID: traceOf, SpanID: clientID, ParentSpanID: parent, Name: host + ":8080/*", Kind: otlp.KindClient,
				Start: at.Add(h.start), End: at.Add(h.start + h.took + 300*time.Microsecond), Attributes: tags(h.caller, callerNS, "outbound|8080||"+host, h.callerRev)},
			otlp.Span{Service: h.callee + ".shop", TraceID: traceOf, SpanID: serverID, ParentSpanID: clientID, Name: host + ":8080/*", Kind: otlp.KindServer,
				Start: at.Add(h.start + 100*time.Microsecond), End: at.Add(h.start + 100*time.Microsecond + h.took), Attributes: tags(h.callee, "shop", "inbound|8080||", h.calleeRev)})
		if traceOf == traceID {
			server[h.callee] = serverID
		}
	}
	return spans
}

// shopTraces: 8 requests gateway -> web -> cart -> pricing, all propagated, web's time growing
// with i (trace 7 the slowest, then 6, 5); cart does not forward the headers to inventory, so
// those calls start traces of their own; web's calls to recommendations are sampled twice only.
func shopTraces(now time.Time) []otlp.Span {
	var spans []otlp.Span
	for i := range 8 {
		at := now.Add(-time.Duration(10+i) * time.Second)
		extra := time.Duration(i) * 7 * time.Millisecond
		hops := []hop{
			{"istio-ingressgateway", "web", 0, 60*time.Millisecond + extra, true, 200, "", ""},
			{"web", "cart", 5 * time.Millisecond, 40*time.Millisecond + extra, true, 200, "", ""},
			{"cart", "pricing", 8 * time.Millisecond, 10 * time.Millisecond, true, 200, "", ""},
			{"cart", "inventory", 20 * time.Millisecond, 15*time.Millisecond + extra, false, 200, "", ""},
		}
		if i < 2 {
			hops = append(hops, hop{"web", "recommendations", 50 * time.Millisecond, 5 * time.Millisecond, true, 200, "", ""})
		}
		spans = append(spans, traceSpans(i, at, hops)...)
	}
	return spans
}

// shopNamespace makes sure namespace shop, where the recorded traces live, exists: traces
// says a namespace that does not as an error before it asks Jaeger.
func shopNamespace(t *testing.T) {
	t.Helper()
	apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
}

// startJaegerWith runs a Jaeger and sends spans into it over OTLP, returning once it serves
// every trace.
func startJaegerWith(t *testing.T, spans []otlp.Span) *sandbox.Jaeger {
	t.Helper()
	shopNamespace(t)
	j, err := sandbox.StartJaeger(t.Context(), binDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Stop)
	if err := otlp.Send(t.Context(), j.OTLPURL, spans); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, s := range spans {
		want[jaegerID(s.TraceID)] = true
	}
	waitForTraces(t, j, want)
	return j
}

// jaegerID is a trace ID as Jaeger's API writes it: 16 hex digits when the high half is zero.
func jaegerID(id string) string {
	if len(id) == 32 && strings.HasPrefix(id, "0000000000000000") {
		return id[16:]
	}
	return id
}

// waitForTraces polls Jaeger's API until it serves every trace in want (its batch processor
// writes them a moment after they arrive).
func waitForTraces(t *testing.T, j *sandbox.Jaeger, want map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		served := map[string]bool{}
		for _, service := range []string{"istio-ingressgateway.istio-system", "cart.shop"} {
			for _, id := range tracesOf(t, j.QueryURL, service) {
				served[id] = true
			}
		}
		missing := 0
		for id := range want {
			if !served[id] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger serves %d of %d traces after 30s", len(want)-missing, len(want))
		}
		time.Sleep(100 * time.Millisecond) // polling Jaeger's API, not waiting on a guess
	}
}

func tracesOf(t *testing.T, base, service string) []string {
	resp, err := http.Get(base + "/api/traces?service=" + service + "&lookback=1h&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ Data []struct{ TraceID string } }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range answer.Data {
		ids = append(ids, tr.TraceID)
	}
	return ids
}

func TestTracesSlowestAndCheck(t *testing.T) {
	t.Parallel()
	j := startJaegerWith(t, shopTraces(time.Now()))
	for _, spelling := range [][]string{{"mesh", "traces"}, {"mesh-traces"}} {
		name := strings.Join(spelling, " ")
		r := plugin(t, cluster, append(spelling, "web", "-n", "shop", "--slowest", "3", "-o", "json", "--jaeger-url", j.QueryURL)...)
		var report struct {
			Traces []struct {
				TraceID string
				Spans   []struct {
					Service  string
					Depth    int
					Critical bool
				}
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != 0 {
			t.Fatalf("%s web: %v\n%s", name, err, r)
		}
		var ids []string
		for _, tr := range report.Traces {
			ids = append(ids, tr.TraceID)
		}
		if want := []string{fmt.Sprintf("%016x", 0xe2e0007), fmt.Sprintf("%016x", 0xe2e0006), fmt.Sprintf("%016x", 0xe2e0005)}; !slices.Equal(ids, want) {
			t.Errorf("%s: slowest %v, want %v", name, ids, want)
		}
		if spans := report.Traces[0].Spans; len(spans) != 6 || spans[0].Service != "istio-ingressgateway" || spans[5].Service != "pricing" || spans[5].Depth != 5 {
			t.Errorf("%s: tree of the slowest trace: %+v", name, spans)
		}

		r = plugin(t, cluster, append(spelling, "-n", "shop", "--check", "--jaeger-url", j.QueryURL)...)
		if r.code != 0 {
			t.Fatalf("%s --check:\n%s", name, r)
		}
		for _, want := range []string{
			"istio-system/istio-ingressgateway  shop/web              8       starts traces",
			"shop/web                           shop/cart             8       propagates",
			"shop/cart                          shop/pricing          8       propagates",
			"shop/cart                          shop/inventory        8       drops context",
			"shop/web                           shop/recommendations  2       unknown",
			"shop/cart drops the trace context: make shop/cart copy traceparent",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s --check lacks %q:\n%s", name, want, r.stdout)
			}
		}
		if strings.Count(r.stdout, "drops context") != 1 {
			t.Errorf("%s --check: one hop drops context, no other:\n%s", name, r.stdout)
		}
		if !strings.Contains(r.stderr, "no Prometheus found") || !strings.Contains(r.stderr, "judging the edges the traces show") {
			t.Errorf("%s --check without Prometheus does not say where its edges come from:\n%s", name, r.stderr)
		}
	}
}

func TestTracesErrors(t *testing.T) {
	t.Parallel()
	shopNamespace(t)
	empty, err := sandbox.StartJaeger(t.Context(), binDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(empty.Stop)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "shop", "--jaeger-url", empty.QueryURL}, "holds no traces at all"},
		{[]string{"-n", "shop", "--jaeger-url", "http://127.0.0.1:1/jaeger"}, "cannot reach Jaeger at --jaeger-url http://127.0.0.1:1/jaeger"},
		{[]string{"-n", "shop", "--jaeger-url", strings.TrimSuffix(empty.QueryURL, "/jaeger")}, "not its API's JSON"},
		{[]string{"-n", "shop"}, "no Jaeger found: looked at --jaeger-url (not given), $MESH_JAEGER_URL (not set) and service tracing in istio-system"},
		{[]string{"-n", "shop", "--window", "soon"}, `--window "soon" is not a duration`},
		{[]string{"-n", "shop", "--slowest", "0"}, "--slowest 0: show at least 1 trace"},
		{[]string{"a", "b"}, "accepts at most 1 arg"},
	} {
		r := plugin(t, cluster, append([]string{"mesh", "traces"}, tt.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("traces %v: want exit 1 and %q:\n%s", tt.args, tt.want, r)
		}
		assertNoStackTrace(t, r)
	}
}
