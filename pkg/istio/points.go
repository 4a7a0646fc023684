package istio

import (
	corev1 "k8s.io/api/core/v1"
)

// Hop is one place a request to a destination pod is authorized, in the order the request
// meets them.
type Hop struct {
	Point Point
	// SeesWaypoint: here the caller is the waypoint (its identity), not the original caller:
	// behind a waypoint the destination's ztunnel sees the waypoint's.
	SeesWaypoint bool
}

// Hops are where Istio authorizes a request to pod: a gateway's proxy, its sidecar, or in
// ambient mode its node's ztunnel, after the waypoint (namespace/name) that carries the
// request's Service (namespace/name) when one does. None for a pod outside the mesh, where
// nothing is enforced.
func Hops(pod *corev1.Pod, namespaceLabels map[string]string, service, waypoint string) []Hop {
	at := Point{Namespace: pod.Namespace, Labels: pod.Labels}
	switch {
	case IsGatewayPod(pod):
		at.At = AtGateway
		if name := pod.Labels[GatewayNameLabel]; name != "" {
			at.Gateway = pod.Namespace + "/" + name
		}
		return []Hop{{Point: at}}
	case HasSidecar(pod):
		at.At = AtSidecar
		return []Hop{{Point: at}}
	case InAmbient(pod, namespaceLabels):
		at.At = AtZtunnel
		if waypoint == "" || service == "" {
			return []Hop{{Point: at}}
		}
		return []Hop{{Point: Point{At: AtWaypoint, Gateway: waypoint, Service: service}}, {Point: at, SeesWaypoint: true}}
	}
	return nil
}

// PathDecision is what the hops of a request decide together: the first hop that denies it
// (or may), else the last.
type PathDecision struct {
	Decision
	Hop Hop
	// Each hop's decision, in order.
	Hops []Decision
}

// DecidePath evaluates r at each hop; at a hop that sees the waypoint, the request carries
// waypointPrincipal instead of the caller's identity.
func (a Authorizer) DecidePath(hops []Hop, r Request, waypointPrincipal string) PathDecision {
	var out PathDecision
	out.Allowed = Yes
	out.Reason = "allowed: no proxy enforces policy for it"
	for _, h := range hops {
		req := r
		if h.SeesWaypoint {
			req.Principal, req.RequestPrincipal = waypointPrincipal, ""
		}
		d := a.Decide(h.Point, req)
		out.Hops = append(out.Hops, d)
		if d.Allowed < out.Allowed || len(out.Hops) == 1 {
			out.Decision, out.Hop = d, h
		}
		if d.Allowed == No {
			break
		}
	}
	return out
}
