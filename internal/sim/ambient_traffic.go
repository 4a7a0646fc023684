package sim

import corev1 "k8s.io/api/core/v1"

// deliverToAmbient carries a request to an ambient pod without a waypoint: the destination's
// ztunnel takes the connection (mutual TLS from a sidecar or another ztunnel, plaintext from
// outside the mesh), enforces STRICT and the L4 policies, and reports the connection; the
// caller's ztunnel reports it too when the caller is ambient. source is the caller's sidecar
// report, recorded when the caller has one.
func (s *Simulator) deliverToAmbient(m *Mesh, src *Workload, srcPod *corev1.Pod, t Target, req Request, depth int, source Report) (int, float64) {
	dst, zt := t.Workload, m.ztunnel()
	port := servicePort(t.Service)
	mtls := src.Sidecar || src.Ambient
	conn := s.connection("destination", src, dst, t.Service, mtls)
	outbound := s.connection("source", src, dst, t.Service, mtls)
	refuse := func(flags string) (int, float64) {
		conn.Flags, outbound.Flags = flags, flags
		conn.SentBytes, conn.RecvBytes, outbound.SentBytes, outbound.RecvBytes = 0, 0, 0, 0 // refused before any byte
		s.report(zt, conn)
		if src.Ambient {
			s.report(zt, outbound)
		}
		source.Code, source.Flags, source.DurationMs = 0, "UF", 0.5
		s.report(srcPod, source)
		return 0, 0.5
	}
	if !mtls && EffectiveMTLS(m.In(dst.Cluster).PeerAuthentications, dst, port) == Strict {
		return refuse("DENY") // STRICT: the plaintext connection is refused
	}
	call := Call{Method: req.Method, Path: req.Path, Host: req.Host, Port: port, Headers: req.Headers}
	if mtls {
		call.Principal, call.Namespace = principalOf(src), src.Namespace
	}
	if !AuthorizeL4(m.In(dst.Cluster).AuthorizationPolicies, dst, call) {
		return refuse("DENY")
	}
	code, duration := s.serve(m, dst, t.Pod, depth, nil, req.At)
	s.report(zt, conn)
	if src.Ambient {
		s.report(zt, outbound)
	}
	source.Code, source.DurationMs = code, duration+0.3
	s.report(srcPod, source)
	return code, duration + 0.3
}

// deliverViaWaypoint carries an ambient caller's request for t.Service through its waypoint:
// caller's ztunnel -> waypoint (which enforces the policies that target the Service, routes by
// the Service's routes, and reports the request) -> the backend's ztunnel (which sees the
// waypoint's identity and enforces the L4 policies).
func (s *Simulator) deliverViaWaypoint(m *Mesh, src *Workload, t Target, req Request, depth int) (int, float64) {
	wp, svc, zt := t.Via, t.Service, m.ztunnel()
	s.report(zt, s.connection("source", src, wp, svc, true)) // hop 1, reported by the caller's ztunnel
	request := Report{Reporter: "waypoint", Source: src, Service: svc, Protocol: "http", Security: "mutual_tls", PeerKnown: true}
	answer := func(code int, flags string, duration float64) (int, float64) {
		request.Code, request.Flags, request.DurationMs = code, flags, duration
		s.report(wp.Pods[0], request)
		return code, duration
	}
	port := servicePort(svc)
	call := Call{Principal: principalOf(src), Namespace: src.Namespace, Method: req.Method, Path: req.Path, Host: req.Host, Port: port, Headers: req.Headers}
	if !AuthorizeAtWaypoint(m.AuthorizationPolicies, svc, wp, call) {
		return answer(403, "-", 0.3)
	}
	target := m.RouteMesh(s.rng, svc.Namespace, svc, req)
	if target.Flag != "" {
		return answer(503, target.Flag, 0.3)
	}
	dst := target.Workload
	request.Destination, request.Service = dst, target.Service
	hop := s.connection("destination", wp, dst, target.Service, true) // hop 2, reported by the backend's ztunnel
	if !AuthorizeL4(m.AuthorizationPolicies, dst, Call{Principal: principalOf(wp), Namespace: wp.Namespace, Port: port}) {
		hop.Flags, hop.SentBytes, hop.RecvBytes = "DENY", 0, 0
		s.report(zt, hop)
		return answer(503, "UF", 0.5)
	}
	code, duration := s.serve(m, dst, target.Pod, depth, nil, req.At)
	s.report(zt, hop)
	return answer(code, "-", duration+0.5)
}

// connection is one TCP connection as a ztunnel reports it, with a few hundred bytes each way.
func (s *Simulator) connection(reporter string, src, dst *Workload, svc *corev1.Service, mtls bool) Report {
	security := "unknown"
	if mtls {
		security = "mutual_tls"
	}
	sent, recv := 200+s.rng.Float64()*100, 800+s.rng.Float64()*400
	if reporter == "destination" {
		sent, recv = recv, sent
	}
	return Report{Reporter: reporter, Source: src, Destination: dst, Service: svc, Protocol: "tcp", Security: security, PeerKnown: mtls, SentBytes: sent, RecvBytes: recv}
}
