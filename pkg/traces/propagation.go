package traces

import (
	"fmt"
	"sort"
	"time"
)

// Edge is a caller and the service it calls, as Prometheus (or the traces) show it.
type Edge struct {
	From Workload `json:"from"`
	To   Workload `json:"to"`
}

func (e Edge) String() string { return e.From.String() + " -> " + e.To.String() }

// State is what the traces say of an edge.
type State string

// The states of an edge.
const (
	// Propagates: every call on the edge hangs under a caller's span that is itself part of
	// a trace.
	Propagates State = "propagates"
	// PartlyDrops: some calls continue the caller's trace, others start new traces (a code
	// path, or an instance, that does not forward the context).
	PartlyDrops State = "partly drops context"
	// Drops: the caller receives traced requests, yet its calls start new traces.
	Drops State = "drops context"
	// Starts: the caller receives no traced request (a gateway, a job): it starts traces.
	Starts State = "starts traces"
	// Unknown: too few traces on the edge to judge.
	Unknown State = "unknown"
)

// MinTraces is how many traces an edge needs for a verdict: with fewer, sampling has not
// caught enough of its calls to tell.
const MinTraces = 5

// Forwarded names the headers an application must copy from its inbound request to its
// outbound calls for the proxies to stitch one trace.
const Forwarded = "traceparent, tracestate, x-request-id and the b3 headers (x-b3-traceid, x-b3-spanid, x-b3-parentspanid, x-b3-sampled, x-b3-flags)"

// Verdict is an edge's propagation, with the counts it rests on.
type Verdict struct {
	Edge   Edge   `json:"edge"`
	State  State  `json:"state"`
	Traces int    `json:"traces"` // traces with a call on the edge
	Calls  int    `json:"calls"`  // calls on the edge the traces show
	Joined int    `json:"joined"` // of those, the calls that continue the caller's trace
	Why    string `json:"why"`
	Fix    string `json:"fix,omitempty"`
}

// Check judges each edge against the traces of the window. Edges are per canonical service
// and revision (istio.canonical_revision), as graph's are per workload: a version that drops
// the context does not hide behind one that forwards it. An edge with fewer than MinTraces
// traces is unknown, whatever they show: too little to call it fine.
//
// A call on an edge is a callee's server span under a span of the caller, or one without a
// parent when the callee has one caller; or, where the callee left no span, the caller's
// client span. It is joined when the caller's span is itself inside a trace (a server span,
// or a client span with a parent); otherwise it started a new trace. An edge propagates when
// every call is joined, partly drops when some are, and drops (or starts traces, when the
// caller receives no traced request) when none is.
func Check(edges []Edge, all []Trace) []Verdict {
	index := newSpanIndex(all)
	var verdicts []Verdict
	for _, e := range edges {
		verdicts = append(verdicts, index.judge(e, edges))
	}
	sort.SliceStable(verdicts, func(i, j int) bool { return verdicts[i].Edge.String() < verdicts[j].Edge.String() })
	return verdicts
}

// count is how many of the edges keep accepts.
func count(edges []Edge, keep func(Edge) bool) int {
	n := 0
	for _, e := range edges {
		if keep(e) {
			n++
		}
	}
	return n
}

type spanIndex struct {
	traces []Trace
	byID   []map[string]Span
}

func newSpanIndex(all []Trace) *spanIndex {
	x := &spanIndex{traces: all}
	for _, t := range all {
		ids := map[string]Span{}
		for _, s := range t.Spans {
			ids[s.ID] = s
		}
		x.byID = append(x.byID, ids)
	}
	return x
}

// edgeCase is what judging one edge needs besides the spans: how many edges could have sent
// a callee's orphan span, and how many callee revisions the caller's unanswered calls could
// have gone to (a span goes to an edge only when these are one); whether the callee leaves
// server spans (then they, not the caller's client spans, are its calls: each call once).
type edgeCase struct {
	Edge
	callers, callees int
	calleeTraced     bool
}

func (x *spanIndex) judge(e Edge, edges []Edge) Verdict {
	c := edgeCase{Edge: e,
		callers: count(edges, func(o Edge) bool { return o.To.Has(e.To) }),
		callees: count(edges, func(o Edge) bool { return o.From.Has(e.From) && o.To.Is(e.To) }),
	}
	callerTraced := false
	for _, t := range x.traces {
		for _, s := range t.Spans {
			callerTraced = callerTraced || s.Kind == Server && e.From.Has(s.Workload)
			c.calleeTraced = c.calleeTraced || s.Kind == Server && e.To.Has(s.Workload)
		}
	}
	v := Verdict{Edge: e}
	onEdge := map[int]bool{}
	for i, t := range x.traces {
		for _, s := range t.Spans {
			if call, joined := x.call(i, s, c); call {
				onEdge[i] = true
				v.Calls++
				if joined {
					v.Joined++
				}
			}
		}
	}
	v.Traces = len(onEdge)
	v.State, v.Why, v.Fix = verdict(e, v, callerTraced)
	return v
}

// call tells whether span s (of trace i) records a call on the edge, and whether that call
// continues the caller's trace.
func (x *spanIndex) call(i int, s Span, c edgeCase) (call, joined bool) {
	parent, hasParent := x.byID[i][s.ParentID]
	switch {
	case s.Kind == Server && c.To.Has(s.Workload) && hasParent:
		if !c.From.Has(parent.Workload) {
			return false, false
		}
		return true, parent.Kind == Server || x.hasParent(i, parent)
	case s.Kind == Server && c.To.Has(s.Workload):
		return c.callers == 1, false // an orphan of the callee's: its one caller sent it
	case s.Kind == Client && !c.calleeTraced && c.From.Has(s.Workload) && s.Calls.Service != "" && s.Calls.Is(c.To):
		return c.callees == 1, hasParent // a callee that leaves no span: the caller's side says it
	}
	return false, false
}

func verdict(e Edge, v Verdict, callerTraced bool) (State, string, string) {
	fix := fmt.Sprintf("make %s copy %s from its inbound request to its outbound calls", e.From, Forwarded)
	switch started := v.Calls - v.Joined; {
	case v.Traces < MinTraces:
		return Unknown, fmt.Sprintf("only %d trace(s) on this edge in the window: too few to judge", v.Traces),
			"raise the sampling rate (Telemetry randomSamplingPercentage, or meshConfig.defaultConfig.tracing.sampling) or widen --window"
	case started == 0:
		return Propagates, fmt.Sprintf("all %d call(s) continue the caller's trace", v.Joined), ""
	case v.Joined > 0:
		return PartlyDrops, fmt.Sprintf("%d of %d calls to %s start new traces, %d continue the caller's: some of its requests lose the context", started, v.Calls, e.To, v.Joined),
			fix + ", on every code path"
	case !callerTraced:
		return Starts, fmt.Sprintf("%s receives no traced requests: its calls start traces", e.From), ""
	}
	return Drops, fmt.Sprintf("%s receives traced requests but its calls to %s start new traces (%d traces, none joined)", e.From, e.To, v.Traces), fix
}

func (x *spanIndex) hasParent(trace int, s Span) bool {
	_, ok := x.byID[trace][s.ParentID]
	return ok
}

// EdgesOf are the edges the traces show: each client span's caller, with its revision, and
// the callee that answered it (its server span's revision), else the service it called. A
// callee without a revision is left out where the same caller's calls to it show revisions.
func EdgesOf(all []Trace) []Edge {
	seen := map[Edge]bool{}
	for _, t := range all {
		byID := map[string]Span{}
		for _, s := range t.Spans {
			byID[s.ID] = s
		}
		for _, s := range t.Spans {
			switch parent, ok := byID[s.ParentID]; {
			case s.Kind == Client && s.Calls.Service != "":
				seen[Edge{From: s.Workload, To: s.Calls}] = true
			case s.Kind == Server && ok && parent.Kind == Client && parent.Calls.Is(s.Workload):
				seen[Edge{From: parent.Workload, To: s.Workload}] = true
			}
		}
	}
	answered := map[Edge]bool{} // caller and service where a callee's revision is known
	for e := range seen {
		if e.To.Revision != "" {
			answered[Edge{From: e.From, To: e.To.service()}] = true
		}
	}
	var edges []Edge
	for e := range seen {
		if e.To.Revision == "" && answered[e] {
			continue
		}
		edges = append(edges, e)
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].String() < edges[j].String() })
	return edges
}

// SlowestPerEdge is, for each hop the traces show (caller -> callee), the trace in which that
// hop took longest: the callee's server span under a span of the caller, else the caller's
// client span to it. Each hop is keyed twice: with the revisions its spans name, and by
// service alone.
func SlowestPerEdge(all []Trace) map[Edge]string {
	type best struct {
		trace string
		took  time.Duration
	}
	// [0]: measured by the callee's server spans; [1]: by the caller's client spans.
	var found [2]map[Edge]best
	found[0], found[1] = map[Edge]best{}, map[Edge]best{}
	record := func(side int, e Edge, trace string, s Span) {
		for _, key := range []Edge{e, {From: e.From.service(), To: e.To.service()}} {
			if b, ok := found[side][key]; !ok || s.Duration > b.took || s.Duration == b.took && trace < b.trace {
				found[side][key] = best{trace, s.Duration}
			}
		}
	}
	for _, t := range all {
		byID := map[string]Span{}
		for _, s := range t.Spans {
			byID[s.ID] = s
		}
		for _, s := range t.Spans {
			parent, ok := byID[s.ParentID]
			switch {
			case s.Kind == Server && ok && !parent.Workload.Is(s.Workload):
				record(0, Edge{From: parent.Workload, To: s.Workload}, t.ID, s)
			case s.Kind == Client && s.Calls.Service != "":
				record(1, Edge{From: s.Workload, To: s.Calls}, t.ID, s)
			}
		}
	}
	out := map[Edge]string{}
	for _, side := range found {
		for e, b := range side {
			if _, done := out[e]; !done {
				out[e] = b.trace
			}
		}
	}
	return out
}
