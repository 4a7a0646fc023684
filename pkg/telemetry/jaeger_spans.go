package telemetry

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// jaegerTrace is a trace as Jaeger's HTTP JSON API writes it.
type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

type jaegerSpan struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64       `json:"startTime"` // µs since the epoch
	Duration  int64       `json:"duration"`  // µs
	Tags      []jaegerTag `json:"tags"`
	ProcessID string      `json:"processID"`
}

type jaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jaegerTag `json:"tags"`
}

type jaegerTag struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func (t jaegerTrace) trace() traces.Trace {
	out := traces.Trace{ID: t.TraceID, Spans: make([]traces.Span, 0, len(t.Spans))}
	for _, s := range t.Spans {
		out.Spans = append(out.Spans, s.span(t.Processes[s.ProcessID]))
	}
	return out
}

// span reads what Istio's proxies put on a span: istio.canonical_service and istio.namespace
// (else Jaeger's service name, which Istio writes as SERVICE.NAMESPACE), span.kind (else the
// direction of upstream_cluster), http.status_code, response_flags, and for a client span
// the service it called (upstream_cluster outbound|PORT|SUBSET|HOST, else the operation's
// host).
func (s jaegerSpan) span(process jaegerProcess) traces.Span {
	tags := map[string]string{}
	for _, list := range [][]jaegerTag{process.Tags, s.Tags} { // the span's own win
		for _, t := range list {
			tags[t.Key] = tagString(t.Value)
		}
	}
	out := traces.Span{
		ID:        s.SpanID,
		Operation: s.OperationName,
		Start:     time.UnixMicro(s.StartTime).UTC(),
		Duration:  time.Duration(s.Duration) * time.Microsecond,
		Flags:     tags["response_flags"],
		Workload:  spanWorkload(tags, process.ServiceName),
	}
	out.StatusCode, _ = strconv.Atoi(tags["http.status_code"])
	for _, ref := range s.References {
		if ref.RefType == "CHILD_OF" || out.ParentID == "" {
			out.ParentID = ref.SpanID
		}
	}
	cluster := tags["upstream_cluster"]
	switch {
	case tags["span.kind"] == "server", tags["span.kind"] == "" && strings.HasPrefix(cluster, "inbound|"):
		out.Kind = traces.Server
	case tags["span.kind"] == "client", tags["span.kind"] == "" && strings.HasPrefix(cluster, "outbound|"):
		out.Kind = traces.Client
	}
	if out.Kind == traces.Client {
		out.Calls = calledService(cluster, s.OperationName)
	}
	return out
}

func spanWorkload(tags map[string]string, serviceName string) traces.Workload {
	if svc := tags["istio.canonical_service"]; svc != "" {
		return traces.Workload{Service: svc, Namespace: tags["istio.namespace"], Revision: tags["istio.canonical_revision"]}
	}
	if name, ns, ok := strings.Cut(serviceName, "."); ok {
		return traces.Workload{Service: name, Namespace: ns}
	}
	return traces.Workload{Service: serviceName, Namespace: tags["istio.namespace"]}
}

// calledService reads the host a client span called: from upstream_cluster
// (outbound|9080|v1|reviews.default.svc.cluster.local), else from an operation named
// HOST:PORT/PATH, as Istio names them. A host that is not a Kubernetes service's says nothing.
func calledService(cluster, operation string) traces.Workload {
	host := ""
	if parts := strings.Split(cluster, "|"); len(parts) == 4 && parts[0] == "outbound" {
		host = parts[3]
	} else if h, _, ok := strings.Cut(operation, ":"); ok && strings.Contains(h, ".svc.") {
		host = h
	}
	labels := strings.Split(host, ".")
	if len(labels) < 3 || labels[2] != "svc" {
		return traces.Workload{}
	}
	return traces.Workload{Service: labels[0], Namespace: labels[1]}
}

func tagString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
