package traces

import (
	"slices"
	"time"
)

// Node is a span in a trace's tree, in the order a reader follows it (depth first, children
// by start time), with its share of the trace's time and whether it is on the critical path.
type Node struct {
	Span
	Depth    int
	Share    float64 // the span's duration over the trace's
	Critical bool
}

// Tree lays out a trace's spans: each root (the trace's own, then spans whose parent is not
// in it, e.g. a hop that lost the context) with its descendants below it.
func Tree(t Trace) []Node {
	children := childrenOf(t)
	critical := CriticalPath(t)
	total := t.Duration()
	var nodes []Node
	seen := map[string]bool{} // a span ID twice in a trace (or a cycle) is walked once
	var walk func(s Span, depth int)
	walk = func(s Span, depth int) {
		if seen[s.ID] {
			return
		}
		seen[s.ID] = true
		share := 0.0
		if total > 0 {
			share = float64(s.Duration) / float64(total)
		}
		nodes = append(nodes, Node{Span: s, Depth: depth, Share: share, Critical: critical[s.ID]})
		for _, c := range children[s.ID] {
			walk(c, depth+1)
		}
	}
	for _, root := range t.roots() {
		walk(root, 0)
	}
	return nodes
}

// childrenOf maps a span ID to its children, by start time.
func childrenOf(t Trace) map[string][]Span {
	children := map[string][]Span{}
	for _, s := range t.Spans {
		if s.ParentID != "" {
			children[s.ParentID] = append(children[s.ParentID], s)
		}
	}
	for _, list := range children {
		slices.SortStableFunc(list, byStart)
	}
	return children
}

// CriticalPath is the set of spans the trace's end waited on. From the root's end, walking
// back in time: the child that finished last before that moment was being waited for, so it
// is on the path (and, within it, its own critical children); time then moves to that
// child's start, and the next child finishing before it is taken, until the parent's start.
// A child that outlives its parent counts only up to the parent's end.
func CriticalPath(t Trace) map[string]bool {
	children := childrenOf(t)
	path := map[string]bool{}
	var walk func(s Span, until time.Time)
	walk = func(s Span, until time.Time) {
		if path[s.ID] {
			return // a span ID twice in a trace
		}
		path[s.ID] = true
		at := minTime(s.End(), until)
		for {
			next, ok := lastBefore(children[s.ID], at, s.Start)
			if !ok {
				return
			}
			walk(next, at)
			at = next.Start
		}
	}
	if root, ok := t.Root(); ok {
		walk(root, root.End())
	}
	return path
}

// lastBefore is the child that finished last among those started after from and before at.
func lastBefore(children []Span, at, from time.Time) (Span, bool) {
	var best Span
	found := false
	for _, c := range children {
		if !c.Start.Before(at) || c.Start.Before(from) {
			continue
		}
		end := minTime(c.End(), at)
		if !found || end.After(minTime(best.End(), at)) {
			best, found = c, true
		}
	}
	return best, found
}
