package sim

import (
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
)

// Ambient mode, read from Istio's ambient documentation (not from pkg/): ztunnel on each node
// carries an enrolled pod's traffic over mutual TLS (HBONE) and enforces, at L4, the
// PeerAuthentication (STRICT refuses plaintext; DISABLE is ignored) and the
// AuthorizationPolicies that select the pod; it reports every connection as TCP metrics. A
// Service (or namespace) labelled istio.io/use-waypoint=NAME sends its traffic through waypoint
// NAME, which enforces the policies that target the Service, routes by the Service's HTTPRoute,
// and reports the requests (reporter="waypoint"); the destination's ztunnel then sees the
// waypoint's identity.

// ZtunnelApp labels the ztunnel pods; their metrics endpoint carries ztunnel's reports.
const ZtunnelApp = "ztunnel"

// waypointFor is the waypoint that carries requests for svc: the Service's use-waypoint label,
// else its namespace's ("none" opts out); nil when there is none, or it does not run.
func (m *Mesh) waypointFor(svc *corev1.Service) *Workload {
	name, set := svc.Labels["istio.io/use-waypoint"]
	if !set {
		name = m.namespaceLabels(svc.Namespace)["istio.io/use-waypoint"]
	}
	if name == "" || name == "none" {
		return nil
	}
	for _, w := range m.Workloads {
		if w.Waypoint && w.Cluster == m.Cluster && w.Namespace == svc.Namespace && w.Labels["gateway.networking.k8s.io/gateway-name"] == name && len(w.Pods) > 0 {
			return w
		}
	}
	return nil
}

// ztunnel is the ztunnel pod that reports for the node (the sandbox has one node).
func (m *Mesh) ztunnel() *corev1.Pod {
	for _, w := range m.Workloads {
		if w.App == ZtunnelApp && w.Cluster == m.Cluster && len(w.Pods) > 0 {
			return w.Pods[0]
		}
	}
	return nil
}

// AuthorizeL4 decides as ztunnel does for an ambient workload: the policies that select it
// (or its whole namespace, or the mesh) and do not target a Service or Gateway, on what L4
// shows. An ALLOW rule that needs HTTP never matches; a DENY rule is checked without its HTTP
// parts.
func AuthorizeL4(aps []*securityv1.AuthorizationPolicy, w *Workload, c Call) bool {
	var l4 []*securityv1.AuthorizationPolicy
	for _, ap := range aps {
		if targeted(ap) {
			continue
		}
		l4 = append(l4, l4Only(ap))
	}
	return Authorize(l4, w, c)
}

// AuthorizeAtWaypoint decides as a waypoint does for a request to svc: only the policies of
// the Service's namespace that target it (or the waypoint itself), on the whole request.
func AuthorizeAtWaypoint(aps []*securityv1.AuthorizationPolicy, svc *corev1.Service, waypoint *Workload, c Call) bool {
	var allowPolicies int
	allowed := false
	for _, ap := range aps {
		if ap.Namespace != svc.Namespace || !targets(ap, svc.Name, waypoint.Labels["gateway.networking.k8s.io/gateway-name"]) {
			continue
		}
		switch ap.Spec.GetAction() {
		case securityapi.AuthorizationPolicy_DENY:
			if anyRule(ap.Spec.GetRules(), c) {
				return false
			}
		case securityapi.AuthorizationPolicy_ALLOW:
			allowPolicies++
			allowed = allowed || anyRule(ap.Spec.GetRules(), c)
		}
	}
	return allowPolicies == 0 || allowed
}

func targeted(ap *securityv1.AuthorizationPolicy) bool {
	return ap.Spec.GetTargetRef() != nil || len(ap.Spec.GetTargetRefs()) > 0
}

// targets: a targetRef naming the Service (kind Service, core group) or the waypoint Gateway.
func targets(ap *securityv1.AuthorizationPolicy, service, gateway string) bool {
	refs := ap.Spec.GetTargetRefs()
	if ref := ap.Spec.GetTargetRef(); ref != nil {
		refs = append(refs, ref)
	}
	for _, ref := range refs {
		switch {
		case ref.GetKind() == "Service" && (ref.GetGroup() == "" || ref.GetGroup() == "core") && ref.GetName() == service:
			return true
		case ref.GetKind() == "Gateway" && ref.GetName() == gateway:
			return true
		}
	}
	return false
}

// l4Only is ap as ztunnel enforces it: ALLOW rules that need HTTP dropped, DENY rules stripped
// of their HTTP parts.
func l4Only(ap *securityv1.AuthorizationPolicy) *securityv1.AuthorizationPolicy {
	out := ap.DeepCopy()
	var rules []*securityapi.Rule
	for _, r := range out.Spec.GetRules() {
		if !needsHTTP(r) {
			rules = append(rules, r)
			continue
		}
		if out.Spec.GetAction() == securityapi.AuthorizationPolicy_DENY {
			rules = append(rules, stripHTTP(r))
		}
	}
	out.Spec.Rules = rules
	return out
}

func needsHTTP(r *securityapi.Rule) bool {
	for _, f := range r.GetFrom() {
		s := f.GetSource()
		if len(s.GetRequestPrincipals()) > 0 || len(s.GetNotRequestPrincipals()) > 0 || len(s.GetRemoteIpBlocks()) > 0 || len(s.GetNotRemoteIpBlocks()) > 0 {
			return true
		}
	}
	for _, t := range r.GetTo() {
		o := t.GetOperation()
		if len(o.GetMethods()) > 0 || len(o.GetNotMethods()) > 0 || len(o.GetPaths()) > 0 || len(o.GetNotPaths()) > 0 || len(o.GetHosts()) > 0 || len(o.GetNotHosts()) > 0 {
			return true
		}
	}
	for _, w := range r.GetWhen() {
		if !isL4Key(w.GetKey()) {
			return true
		}
	}
	return false
}

func isL4Key(key string) bool {
	switch key {
	case "source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port":
		return true
	}
	return false
}

func stripHTTP(r *securityapi.Rule) *securityapi.Rule {
	out := &securityapi.Rule{From: r.GetFrom()}
	for _, t := range r.GetTo() {
		o := t.GetOperation()
		out.To = append(out.To, &securityapi.Rule_To{Operation: &securityapi.Operation{Ports: o.GetPorts(), NotPorts: o.GetNotPorts()}})
	}
	for _, w := range r.GetWhen() {
		if isL4Key(w.GetKey()) {
			out.When = append(out.When, w)
		}
	}
	return out
}

// principalOf is a workload's identity without spiffe://, as policies name it.
func principalOf(w *Workload) string { return strings.TrimPrefix(w.Principal(), "spiffe://") }
