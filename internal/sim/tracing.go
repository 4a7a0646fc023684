package sim

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/internal/otlp"
)

// Tracer records the spans the sidecars would send, as Envoy does with Istio's defaults: a
// client span on the caller's proxy and a server span on the callee's, per hop, named
// HOST:PORT/*, tagged with istio.canonical_service, istio.namespace, upstream_cluster,
// http.status_code, response_flags and component=proxy, in traces named SERVICE.NAMESPACE;
// and sends them to an OTLP/HTTP endpoint (JSON) once a second.
type Tracer struct {
	Endpoint string // OTLP/HTTP base URL; spans go to Endpoint/v1/traces
	// SampleRate is the share of new traces kept (Istio's sampling): a proxy that starts a
	// trace decides, the rest of the trace follows.
	SampleRate float64
	// DropsContext names apps that do not forward trace headers: their outbound calls reach
	// their proxy without context, which starts a new trace.
	DropsContext map[string]bool

	mu      sync.Mutex
	pending []otlp.Span
	rng     *rand.Rand
}

// drops tells whether w's app leaves the trace context out of its calls: as its Deployment's
// TraceContextAnnotation says, else as DropsContext says of its app.
func (t *Tracer) drops(w *Workload) bool {
	switch {
	case t == nil:
		return false
	case w.TraceContext == "forward" || w.TraceContext == "drop":
		return w.TraceContext == "drop"
	}
	return t.DropsContext[w.App]
}

// TraceContext is what a request carries to its next hop when the app forwards the headers:
// the trace and the span it continues (the caller's server span).
type TraceContext struct {
	TraceID, SpanID string
	Sampled         bool // the decision of the proxy that started the trace, which the rest follow
}

// hop is one call's timing and outcome on both proxies, for its two spans.
type hop struct {
	sampled            bool
	trace              string
	parent             string // the caller side's parent span ("" starts the trace there)
	clientID, serverID string
	start              time.Time
}

// begin decides a hop's trace: the context the request carries (sampled or not, as its first
// proxy decided), else a new trace, kept as often as the sampler says. nil: no tracer.
func (t *Tracer) begin(carried *TraceContext, at time.Time) *hop {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rng == nil {
		t.rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	}
	h := &hop{start: at}
	if carried != nil {
		h.trace, h.parent, h.sampled = carried.TraceID, carried.SpanID, carried.Sampled
	} else if h.sampled = t.rng.Float64() < t.SampleRate; h.sampled {
		h.trace = t.id(16)
	}
	if h.sampled { // an unsampled hop sends nothing: it needs no IDs
		h.clientID, h.serverID = t.id(8), t.id(8)
	}
	return h
}

func (t *Tracer) id(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(t.rng.UintN(256))
	}
	return hex.EncodeToString(b)
}

// serverContext is what the callee's app may forward to its own calls: its server span.
func (h *hop) serverContext() *TraceContext {
	if h == nil {
		return nil
	}
	return &TraceContext{TraceID: h.trace, SpanID: h.serverID, Sampled: h.sampled}
}

// serverStart is when the callee's proxy takes the request: a tenth of a millisecond after
// the caller's sent it.
func serverStart(at time.Time) time.Time { return at.Add(100 * time.Microsecond) }

// finish records the hop's spans: the caller's client span when it has a sidecar (else the
// server span hangs from what the request carried), the callee's server span when it has one.
func (t *Tracer) finish(h *hop, src, dst *Workload, svc *corev1.Service, port uint32, code int, flags string, took time.Duration) {
	if h == nil || !h.sampled {
		return
	}
	host := fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)
	operation := fmt.Sprintf("%s:%d/*", host, port)
	serverParent := h.parent
	t.mu.Lock()
	defer t.mu.Unlock()
	if src.Sidecar {
		t.pending = append(t.pending, otlp.Span{
			Service: src.App + "." + src.Namespace, TraceID: h.trace, SpanID: h.clientID, ParentSpanID: h.parent, Name: operation, Kind: otlp.KindClient,
			Start: h.start, End: h.start.Add(took + 300*time.Microsecond),
			Attributes: spanAttributes(src, "outbound|"+strconv.Itoa(int(port))+"||"+host, code, flags),
		})
		serverParent = h.clientID
	}
	if dst != nil && dst.Sidecar && code != 0 {
		start := serverStart(h.start)
		t.pending = append(t.pending, otlp.Span{
			Service: dst.App + "." + dst.Namespace, TraceID: h.trace, SpanID: h.serverID, ParentSpanID: serverParent, Name: operation, Kind: otlp.KindServer,
			Start: start, End: start.Add(took),
			Attributes: spanAttributes(dst, "inbound|"+strconv.Itoa(int(port))+"||", code, flags),
		})
	}
}

func spanAttributes(w *Workload, cluster string, code int, flags string) map[string]string {
	if flags == "" {
		flags = "-"
	}
	return map[string]string{
		"istio.canonical_service": w.App, "istio.namespace": w.Namespace, "istio.canonical_revision": w.Version,
		"upstream_cluster": cluster, "http.status_code": strconv.Itoa(code), "response_flags": flags,
		"component": "proxy", "node_id": "sidecar~" + w.Name + "." + w.Namespace,
	}
}

// Flush sends the spans recorded since the last flush.
func (t *Tracer) Flush(ctx context.Context) error {
	t.mu.Lock()
	pending := t.pending
	t.pending = nil
	t.mu.Unlock()
	return otlp.Send(ctx, t.Endpoint, pending)
}
