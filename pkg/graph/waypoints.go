package graph

import (
	"slices"
	"sort"
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
