package graph

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// waypoints folds ambient mode's waypoint hops into the calls they carry. A waypoint reports
// each request it forwards (reporter="waypoint": source the original caller, destination the
// backend), while ztunnel reports the two connections it took as TCP: caller -> waypoint and
// waypoint -> backend. A workload W with a waypoint-reported call C -> B and TCP hops C -> W
// and W -> B is that call's waypoint: its hops are not edges of their own.
type waypoints struct {
	byCall map[key]string // a waypoint-reported call -> its waypoint (namespace/workload)
	names  map[string]bool
	// underCalls are ztunnel's TCP reports of calls a sidecar reported as requests (a sidecar
	// calling an ambient workload): the same calls, counted in the request edge.
	underCalls map[key]*tcpTally
}

func findWaypoints(requests requestTallies, tcp tcpEdges) waypoints {
	wp := waypoints{byCall: map[key]string{}, names: map[string]bool{}, underCalls: map[key]*tcpTally{}}
	wp.findUnderCalls(requests, tcp)
	out, in := map[string][]string{}, map[string][]string{} // TCP hops by end
	for _, reports := range []map[key]*tcpTally{tcp.dest, tcp.src} {
		for k := range reports {
			out[k.src.Name()] = append(out[k.src.Name()], k.dst.Name())
			in[k.dst.Name()] = append(in[k.dst.Name()], k.src.Name())
		}
	}
	for call := range requests["waypoint"] {
		var candidates []string
		for _, w := range out[call.src.Name()] {
			if slices.Contains(in[call.dst.Name()], w) && w != call.dst.Name() && w != call.src.Name() {
				candidates = append(candidates, w)
			}
		}
		if len(candidates) == 0 {
			continue
		}
		sort.Strings(candidates)
		wp.byCall[call] = candidates[0]
		wp.names[candidates[0]] = true
	}
	return wp
}

// findUnderCalls pairs the calls only their source's sidecar reported with the destination
// ztunnel's TCP report of the same caller and callee.
func (wp waypoints) findUnderCalls(requests requestTallies, tcp tcpEdges) {
	for call := range requests["source"] {
		if requests["destination"][call] != nil || requests["waypoint"][call] != nil {
			continue
		}
		for k, t := range tcp.dest {
			if k.src.Name() == call.src.Name() && k.dst.Name() == call.dst.Name() && k.src.Name() != "unknown" {
				wp.underCalls[k] = t
			}
		}
	}
}

// folds reports whether a TCP edge is a waypoint's hop, or the connections under calls a
// sidecar reported.
func (wp waypoints) folds(k key) bool {
	return wp.names[k.src.Name()] || wp.names[k.dst.Name()] || wp.underCalls[k] != nil
}

// mTLSUnder takes, for a call only its source reported, the share of mTLS from the
// destination ztunnel's report of the connections under it.
func (wp waypoints) mTLSUnder(e *Edge) {
	var bytes, mtls float64
	for k, t := range wp.underCalls {
		if k.src.Name() == e.Source.Name() && k.dst.Name() == e.Destination.Name() {
			bytes += t.bytes
			mtls += t.mtls
		}
	}
	if bytes > 0 {
		share := mtls / bytes
		e.MTLS = &share
	}
}

// annotate names the waypoint of a call it reported, and takes the call's mTLS from the
// waypoint's connection into the destination, as the destination's ztunnel reported it.
func (wp waypoints) annotate(e *Edge, k key, tcp tcpEdges) {
	w, ok := wp.byCall[k]
	if !ok {
		return
	}
	e.Waypoint = w
	var bytes, mtls float64
	for hop, t := range tcp.dest {
		if hop.src.Name() == w && hop.dst.Name() == k.dst.Name() {
			bytes += t.bytes
			mtls += t.mtls
		}
	}
	if bytes > 0 {
		share := mtls / bytes
		e.MTLS = &share
	}
}

// OutsideScope names what the graph of namespace needs beyond the series with namespace on
// one side, given those (s): the hops of waypoints in other namespaces. A call between the
// namespace and another through a waypoint in a third needs the waypoint's hop on the far
// side (TCP bytes), and a waypoint in the namespace that carries calls between two other
// namespaces needs those calls (the waypoint's requests), or its hops would show as edges of
// their own. Nothing in a mesh without such waypoints: no further query.
func OutsideScope(s *telemetry.Samples, namespace string) []telemetry.Part {
	var hops, calls pairs
	tcpOut, tcpIn := map[Workload][]Workload{}, map[Workload][]Workload{}
	for _, vector := range []model.Vector{s.TCPSent, s.TCPRecv, s.TCPOpened} {
		for _, sample := range vector {
			k := keyOf(sample.Metric)
			tcpOut[ref(k.src)] = append(tcpOut[ref(k.src)], ref(k.dst))
			tcpIn[ref(k.dst)] = append(tcpIn[ref(k.dst)], ref(k.src))
		}
	}
	inside := func(w Workload) bool { return w.Namespace == namespace }
	for _, sample := range s.Requests {
		k := keyOf(sample.Metric)
		caller, callee := ref(k.src), ref(k.dst)
		if sample.Metric["reporter"] != "waypoint" || inside(caller) == inside(callee) {
			continue
		}
		if inside(caller) { // the hop from the waypoint into the callee
			for _, w := range tcpOut[caller] {
				if !inside(w) && w != callee {
					hops.add(w, callee)
				}
			}
			continue
		}
		for _, w := range tcpIn[callee] { // the hop from the caller into the waypoint
			if !inside(w) && w != caller {
				hops.add(caller, w)
			}
		}
	}
	for w, callers := range tcpIn {
		if !inside(w) {
			continue
		}
		for _, caller := range callers {
			for _, callee := range tcpOut[w] {
				if !inside(caller) && !inside(callee) && caller != callee {
					calls.add(caller, callee)
				}
			}
		}
	}
	var parts []telemetry.Part
	if !hops.empty() {
		parts = append(parts, telemetry.Part{Scope: telemetry.Scope{Selector: hops.selector("")}, Queries: []string{telemetry.QueryTCPSent, telemetry.QueryTCPRecv}})
	}
	if !calls.empty() {
		parts = append(parts, telemetry.Part{Scope: telemetry.Scope{Selector: calls.selector(`reporter="waypoint",`)}, Queries: []string{telemetry.QueryRequests}})
	}
	return parts
}

// ref is a workload by namespace and name alone.
func ref(w Workload) Workload { return Workload{Namespace: w.Namespace, Workload: w.Workload} }

// pairs are sources and destinations, outside the namespace, whose series to read.
type pairs struct{ srcNS, src, dstNS, dst map[string]bool }

func (p *pairs) add(src, dst Workload) {
	if p.src == nil {
		p.srcNS, p.src, p.dstNS, p.dst = map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	p.srcNS[src.Namespace], p.src[src.Workload] = true, true
	p.dstNS[dst.Namespace], p.dst[dst.Workload] = true, true
}

func (p pairs) empty() bool { return len(p.src) == 0 }

// selector matches every source with every destination: a few series more than the pairs,
// all of them outside the namespace, so none counted twice.
func (p pairs) selector(prefix string) string {
	alternatives := func(set map[string]bool) string {
		var quoted []string
		for v := range set {
			quoted = append(quoted, regexp.QuoteMeta(v))
		}
		sort.Strings(quoted)
		return strconv.Quote(strings.Join(quoted, "|"))
	}
	return prefix + "source_workload_namespace=~" + alternatives(p.srcNS) + ",source_workload=~" + alternatives(p.src) +
		",destination_workload_namespace=~" + alternatives(p.dstNS) + ",destination_workload=~" + alternatives(p.dst)
}
