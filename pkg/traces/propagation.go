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
	// Propagates: a callee's span hangs under a caller's span that is itself part of a trace.
	Propagates State = "propagates"
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
	Joined int    `json:"joined"` // of its callee's spans, those joined to the caller's trace
	Why    string `json:"why"`
	Fix    string `json:"fix,omitempty"`
}

// Check judges each edge against the traces of the window. An edge with fewer than
// MinTraces traces is unknown, whatever they show: too little to call it fine. A callee's
// server span is joined when its parent is a span of the caller that is itself inside a trace
// (a server span, or a client span with a parent). A call that is not joined starts a new trace: the caller's
// client span is a root, or the callee's span has no parent from the caller at all. When a
// caller receives traced requests (it has server spans) and none of its calls on an edge is
// joined over at least MinTraces traces, the caller drops the context.
func Check(edges []Edge, all []Trace) []Verdict {
	index := newSpanIndex(all)
	var verdicts []Verdict
	for _, e := range edges {
		verdicts = append(verdicts, index.judge(e, callersOf(edges, e.To)))
	}
	sort.SliceStable(verdicts, func(i, j int) bool { return verdicts[i].Edge.String() < verdicts[j].Edge.String() })
	return verdicts
}

// callersOf counts the callers of to among the edges: a callee's orphan spans can only be
// put down to a caller when it has one.
func callersOf(edges []Edge, to Workload) int {
	n := 0
	for _, e := range edges {
		if e.To.Is(to) {
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

func (x *spanIndex) judge(e Edge, callers int) Verdict {
	v := Verdict{Edge: e}
	onEdge := map[int]bool{}
	callerTraced := false
	for i, t := range x.traces {
		for _, s := range t.Spans {
			if s.Workload.Is(e.From) && s.Kind == Server {
				callerTraced = true
			}
			parent, hasParent := x.byID[i][s.ParentID]
			switch {
			case s.Workload.Is(e.From) && s.Kind == Client && s.Calls.Is(e.To) && s.Calls.Service != "":
				onEdge[i] = true // the caller's side of a call on the edge
			case !s.Workload.Is(e.To) || s.Kind != Server:
			case hasParent && parent.Workload.Is(e.From):
				onEdge[i] = true
				if parent.Kind == Server || x.hasParent(i, parent) {
					v.Joined++
				}
			case !hasParent && callers == 1:
				onEdge[i] = true // an orphan of the callee's: its one caller sent it
			}
		}
	}
	v.Traces = len(onEdge)
	switch {
	case v.Traces < MinTraces:
		v.State, v.Why = Unknown, fmt.Sprintf("only %d trace(s) on this edge in the window: too few to judge", v.Traces)
		v.Fix = "raise the sampling rate (Telemetry randomSamplingPercentage, or meshConfig.defaultConfig.tracing.sampling) or widen --window"
	case v.Joined > 0:
		v.State, v.Why = Propagates, fmt.Sprintf("%d call(s) continue the caller's trace", v.Joined)
	case !callerTraced:
		v.State, v.Why = Starts, fmt.Sprintf("%s receives no traced requests: its calls start traces", e.From)
	default:
		v.State, v.Why = Drops, fmt.Sprintf("%s receives traced requests but its calls to %s start new traces (%d traces, none joined)", e.From, e.To, v.Traces)
		v.Fix = fmt.Sprintf("make %s copy %s from its inbound request to its outbound calls", e.From, Forwarded)
	}
	return v
}

func (x *spanIndex) hasParent(trace int, s Span) bool {
	_, ok := x.byID[trace][s.ParentID]
	return ok
}

// EdgesOf are the edges the traces show: each client span with the service it called.
func EdgesOf(all []Trace) []Edge {
	seen := map[Edge]bool{}
	var edges []Edge
	for _, t := range all {
		for _, s := range t.Spans {
			if s.Kind != Client || s.Calls.Service == "" {
				continue
			}
			e := Edge{From: s.Workload.service(), To: s.Calls.service()}
			if !seen[e] {
				seen[e] = true
				edges = append(edges, e)
			}
		}
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
