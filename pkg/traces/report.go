package traces

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// Report is what `kubectl mesh traces` prints: the slowest traces through a service (or
// entering a namespace) in the window, each as its tree of spans.
type Report struct {
	Window    string        `json:"window"`
	Service   string        `json:"service,omitempty"`
	Namespace string        `json:"namespace,omitempty"`
	Traces    []TraceReport `json:"traces"`
}

// TraceReport is one trace: its ID (and where to open it), its duration, and its spans in
// tree order.
type TraceReport struct {
	TraceID    string       `json:"traceID"`
	URL        string       `json:"url,omitempty"`
	DurationMs float64      `json:"durationMs"`
	Spans      []SpanReport `json:"spans"`
}

// SpanReport is a span as reported: who, what, how long, with what outcome, its share of the
// trace's time, and whether the trace waited on it.
type SpanReport struct {
	SpanID     string  `json:"spanID"`
	ParentID   string  `json:"parentSpanID,omitempty"`
	Depth      int     `json:"depth"`
	Service    string  `json:"service"`
	Namespace  string  `json:"namespace,omitempty"`
	Revision   string  `json:"revision,omitempty"` // the version that served it (istio.canonical_revision)
	Kind       Kind    `json:"kind,omitempty"`
	Operation  string  `json:"operation"`
	DurationMs float64 `json:"durationMs"`
	StatusCode int     `json:"statusCode,omitempty"`
	Flags      string  `json:"responseFlags,omitempty"`
	Share      float64 `json:"share"`
	Critical   bool    `json:"critical"`
}

// NewTraceReport lays t out for printing; url opens it in Jaeger ("" when unknown).
func NewTraceReport(t Trace, url string) TraceReport {
	r := TraceReport{TraceID: t.ID, URL: url, DurationMs: ms(t.Duration())}
	for _, n := range Tree(t) {
		r.Spans = append(r.Spans, SpanReport{
			SpanID: n.ID, ParentID: n.ParentID, Depth: n.Depth, Service: n.Workload.Service, Namespace: n.Workload.Namespace, Revision: n.Workload.Revision,
			Kind: n.Kind, Operation: n.Operation, DurationMs: ms(n.Duration), StatusCode: n.StatusCode, Flags: n.Flags,
			Share: float64(int(n.Share*1000+0.5)) / 1000, Critical: n.Critical,
		})
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteTraces prints each trace as a header and an indented tree; "*" marks the critical path.
func WriteTraces(w io.Writer, r Report) error {
	for i, t := range r.Traces {
		if i > 0 {
			fmt.Fprintln(w)
		}
		open := ""
		if t.URL != "" {
			open = "  " + t.URL
		}
		fmt.Fprintf(w, "TRACE %s  %s%s\n", t.TraceID, duration(t.DurationMs), open)
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  SERVICE\tKIND\tOPERATION\tDURATION\tCODE\tSHARE")
		for _, s := range t.Spans {
			mark := " "
			if s.Critical {
				mark = "*"
			}
			fmt.Fprintf(tw, "%s %s%s\t%s\t%s\t%s\t%s\t%.0f%%\n", mark, strings.Repeat("  ", s.Depth), Workload{Service: s.Service, Namespace: s.Namespace, Revision: s.Revision},
				dash(string(s.Kind)), s.Operation, duration(s.DurationMs), code(s), s.Share*100)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%d trace(s), slowest first; * marks the critical path (the spans the request waited on)\n", len(r.Traces))
	return err
}

func code(s SpanReport) string {
	text := "-"
	if s.StatusCode != 0 {
		text = fmt.Sprint(s.StatusCode)
	}
	if s.Flags != "" && s.Flags != "-" {
		text += " " + s.Flags
	}
	return text
}

func duration(msValue float64) string { return output.Millis(msValue) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CheckReport is what `kubectl mesh traces --check` prints.
type CheckReport struct {
	Window string    `json:"window"`
	Edges  string    `json:"edges"` // where the edges come from: "prometheus" or "traces"
	Hops   []Verdict `json:"hops"`
}

// WriteVerdicts prints one row per edge, then what to do about each edge that drops, wholly
// or in part.
func WriteVerdicts(w io.Writer, r CheckReport) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "CALLER\tCALLEE\tTRACES\tVERDICT\tWHY")
	for _, v := range r.Hops {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", v.Edge.From, v.Edge.To, v.Traces, v.State, v.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range r.Hops {
		switch v.State {
		case Drops:
			fmt.Fprintf(w, "\n%s drops the trace context: %s\n", v.Edge.From, v.Fix)
		case PartlyDrops:
			fmt.Fprintf(w, "\n%s drops the trace context on some calls to %s: %s\n", v.Edge.From, v.Edge.To, v.Fix)
		}
	}
	return nil
}
