package sim

import (
	"encoding/json"
	"strconv"
	"time"
)

// The OTLP/HTTP JSON encoding of spans (opentelemetry-proto's ExportTraceServiceRequest):
// IDs in hex, times as nanoseconds in strings, attributes as typed values.

type otlpSpan struct {
	TraceID, SpanID, ParentSpanID string
	Name                          string
	Kind                          int // 2 server, 3 client
	Start, End                    time.Time
	Attributes                    []otlpAttribute
}

type otlpAttribute struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

func str(key, value string) otlpAttribute {
	return otlpAttribute{Key: key, Value: map[string]string{"stringValue": value}}
}

type otlpSpanOf struct {
	workload *Workload
	span     otlpSpan
}

func (s otlpSpan) MarshalJSON() ([]byte, error) {
	type wire struct {
		TraceID           string          `json:"traceId"`
		SpanID            string          `json:"spanId"`
		ParentSpanID      string          `json:"parentSpanId,omitempty"`
		Name              string          `json:"name"`
		Kind              int             `json:"kind"`
		StartTimeUnixNano string          `json:"startTimeUnixNano"`
		EndTimeUnixNano   string          `json:"endTimeUnixNano"`
		Attributes        []otlpAttribute `json:"attributes"`
		Status            map[string]int  `json:"status"`
	}
	return json.Marshal(wire{
		TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Name: s.Name, Kind: s.Kind,
		StartTimeUnixNano: strconv.FormatInt(s.Start.UnixNano(), 10), EndTimeUnixNano: strconv.FormatInt(s.End.UnixNano(), 10),
		Attributes: s.Attributes, Status: map[string]int{},
	})
}

// otlpRequest groups spans into one resource per proxy, named as Istio names it
// (SERVICE.NAMESPACE).
func otlpRequest(spans []otlpSpanOf) map[string]any {
	byProxy := map[*Workload][]otlpSpan{}
	var order []*Workload
	for _, s := range spans {
		if _, seen := byProxy[s.workload]; !seen {
			order = append(order, s.workload)
		}
		byProxy[s.workload] = append(byProxy[s.workload], s.span)
	}
	var resources []any
	for _, w := range order {
		resources = append(resources, map[string]any{
			"resource":   map[string]any{"attributes": []otlpAttribute{str("service.name", w.App+"."+w.Namespace)}},
			"scopeSpans": []any{map[string]any{"scope": map[string]string{"name": "envoy"}, "spans": byProxy[w]}},
		})
	}
	return map[string]any{"resourceSpans": resources}
}
