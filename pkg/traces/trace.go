// Package traces reads the traces Istio's proxies leave in Jaeger: which requests were
// slowest and where their time went (each trace as a tree with its critical path), and which
// hop loses the trace context. Pure: spans in, trees and verdicts out.
package traces

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Kind is a span's side of a hop: the caller's proxy (client) or the callee's (server).
type Kind string

// The kinds of span a sidecar reports; a gateway's span is a client span.
const (
	Server Kind = "server"
	Client Kind = "client"
	Other  Kind = ""
)

// Workload is who emitted a span, as Istio names it: canonical service and namespace.
type Workload struct {
	Service   string `json:"service"`
	Namespace string `json:"namespace,omitempty"`
	// Revision is istio.canonical_revision (the version label), when the span says it: it
	// tells v1's hops from v2's, as graph's edges are told apart by workload.
	Revision string `json:"revision,omitempty"`
}

// service is w without its revision.
func (w Workload) service() Workload { return Workload{Service: w.Service, Namespace: w.Namespace} }

// String is namespace/service, and @revision when it has one: default/reviews@v2.
func (w Workload) String() string {
	name := w.Service
	if w.Namespace != "" {
		name = w.Namespace + "/" + name
	}
	if w.Revision != "" {
		name += "@" + w.Revision
	}
	return name
}

// Has tells whether a span of w is one of this end's: the same service (Is), and the same
// revision where both name one (a span without istio.canonical_revision cannot be told apart).
func (w Workload) Has(span Workload) bool {
	return w.Is(span) && (w.Revision == "" || span.Revision == "" || w.Revision == span.Revision)
}

// Span is one proxy's record of one hop.
type Span struct {
	ID, ParentID string
	Workload     Workload
	Operation    string
	Kind         Kind
	Start        time.Time
	Duration     time.Duration
	StatusCode   int    // http.status_code; 0 when not HTTP or not said
	Flags        string // Envoy's response_flags ("-" when none)
	// Calls is what a client span called (from upstream_cluster outbound|PORT|SUBSET|HOST):
	// the service host's name and namespace; empty when it does not say.
	Calls Workload
}

// End is when the span finished.
func (s Span) End() time.Time { return s.Start.Add(s.Duration) }

// Trace is the spans of one request through the mesh.
type Trace struct {
	ID    string
	Spans []Span
}

// Duration is the trace's wall-clock time: from its first span's start to its last span's end.
func (t Trace) Duration() time.Duration {
	if len(t.Spans) == 0 {
		return 0
	}
	start, end := t.Spans[0].Start, t.Spans[0].End()
	for _, s := range t.Spans[1:] {
		start, end = minTime(start, s.Start), maxTime(end, s.End())
	}
	return end.Sub(start)
}

// Root is the span the trace starts from: the earliest of those without a parent in it.
func (t Trace) Root() (Span, bool) {
	roots := t.roots()
	if len(roots) == 0 {
		return Span{}, false
	}
	return roots[0], true
}

func (t Trace) roots() []Span {
	ids := map[string]bool{}
	for _, s := range t.Spans {
		ids[s.ID] = true
	}
	var roots []Span
	for _, s := range t.Spans {
		if s.ParentID == "" || !ids[s.ParentID] {
			roots = append(roots, s)
		}
	}
	slices.SortStableFunc(roots, byStart)
	return roots
}

// Has tells whether a span of w of kind (Other: any kind) is in the trace.
func (t Trace) Has(w Workload, kind Kind) bool {
	return slices.ContainsFunc(t.Spans, func(s Span) bool { return s.Workload.Is(w) && (kind == Other || s.Kind == kind) })
}

// Is tells whether w names the same workload as other; an empty namespace matches any.
func (w Workload) Is(other Workload) bool {
	return w.Service == other.Service && (w.Namespace == "" || other.Namespace == "" || w.Namespace == other.Namespace)
}

// Slowest returns at most n of the traces that keep accepts, slowest first (ties by ID, for
// a stable order).
func Slowest(all []Trace, n int, keep func(Trace) bool) []Trace {
	var kept []Trace
	seen := map[string]bool{}
	for _, t := range all {
		if !seen[t.ID] && (keep == nil || keep(t)) {
			seen[t.ID] = true
			kept = append(kept, t)
		}
	}
	took := make(map[string]time.Duration, len(kept)) // each trace's, once, not per comparison
	for _, t := range kept {
		took[t.ID] = t.Duration()
	}
	slices.SortFunc(kept, func(a, b Trace) int {
		return cmp.Or(cmp.Compare(took[b.ID], took[a.ID]), strings.Compare(a.ID, b.ID))
	})
	return kept[:min(n, len(kept))]
}

func byStart(a, b Span) int {
	return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.ID, b.ID))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ServicesToQuery picks, from the service names Jaeger knows, those to ask for traces of
// service (canonical name, "" for any) in namespace ("" for any). Istio names its proxies'
// traces SERVICE.NAMESPACE; names without a dot are taken as the service alone.
func ServicesToQuery(known []string, service, namespace string) []string {
	var out []string
	for _, name := range known {
		svc, ns, dotted := strings.Cut(name, ".")
		switch {
		case service != "" && svc != service:
		case namespace != "" && dotted && ns != namespace:
		case name == "jaeger" || strings.HasPrefix(name, "jaeger-"): // Jaeger's own
		default:
			out = append(out, name)
		}
	}
	return out
}
