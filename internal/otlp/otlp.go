// Package otlp sends spans to an OpenTelemetry collector (Jaeger's OTLP receiver) over
// OTLP/HTTP in its JSON encoding: IDs in hex, times as nanoseconds in strings, attributes as
// typed values. It is what the simulated sidecars and the tests send traces with.
package otlp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Span kinds, as OTLP numbers them.
const (
	KindServer = 2
	KindClient = 3
)

// Span is one span, and the service (resource service.name) that reported it.
type Span struct {
	Service                       string
	TraceID, SpanID, ParentSpanID string
	Name                          string
	Kind                          int
	Start, End                    time.Time
	Attributes                    map[string]string
}

type attribute struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

type wireSpan struct {
	TraceID           string         `json:"traceId"`
	SpanID            string         `json:"spanId"`
	ParentSpanID      string         `json:"parentSpanId,omitempty"`
	Name              string         `json:"name"`
	Kind              int            `json:"kind"`
	StartTimeUnixNano string         `json:"startTimeUnixNano"`
	EndTimeUnixNano   string         `json:"endTimeUnixNano"`
	Attributes        []attribute    `json:"attributes"`
	Status            map[string]int `json:"status"`
}

// Request is the ExportTraceServiceRequest of spans: one resource per service, in the order
// the services first appear.
func Request(spans []Span) map[string]any {
	byService := map[string][]wireSpan{}
	var order []string
	for _, s := range spans {
		if _, seen := byService[s.Service]; !seen {
			order = append(order, s.Service)
		}
		var attrs []attribute
		for _, k := range sortedKeys(s.Attributes) {
			attrs = append(attrs, attribute{Key: k, Value: map[string]string{"stringValue": s.Attributes[k]}})
		}
		byService[s.Service] = append(byService[s.Service], wireSpan{
			TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Name: s.Name, Kind: s.Kind,
			StartTimeUnixNano: strconv.FormatInt(s.Start.UnixNano(), 10), EndTimeUnixNano: strconv.FormatInt(s.End.UnixNano(), 10),
			Attributes: attrs, Status: map[string]int{},
		})
	}
	var resources []any
	for _, service := range order {
		resources = append(resources, map[string]any{
			"resource":   map[string]any{"attributes": []attribute{{Key: "service.name", Value: map[string]string{"stringValue": service}}}},
			"scopeSpans": []any{map[string]any{"scope": map[string]string{"name": "envoy"}, "spans": byService[service]}},
		})
	}
	return map[string]any{"resourceSpans": resources}
}

// Send posts spans to endpoint/v1/traces.
func Send(ctx context.Context, endpoint string, spans []Span) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := json.Marshal(Request(spans))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("OTLP endpoint %s answered %s", endpoint, resp.Status)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
