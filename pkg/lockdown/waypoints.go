package lockdown

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// WaypointBinding is traffic a waypoint carries (ambient mode): a Service's, or, with Service
// empty, the traffic addressed to the pods of workloads that use the waypoint themselves (a
// workload waypoint: istio.io/use-waypoint on the pod, or on its namespace for a waypoint for
// workload traffic). The destination's ztunnel then sees the waypoint's identity, not the
// caller's, and the real callers can only be told apart at the waypoint, which enforces the
// AuthorizationPolicies that target the Service, or (for all its traffic) the waypoint itself,
// and ignores selector policies.
type WaypointBinding struct {
	Service  string   `json:"service,omitempty"` // "": traffic addressed to the workloads' pods
	Waypoint string   `json:"waypoint"`          // namespace/name
	From     string   `json:"from"`              // what binds it: "Service reviews", "namespace shop", "pod api-0"
	Workload []string `json:"workloads"`
	// Identities are the waypoint's principals, allowed at the workloads' ztunnel.
	Identities []Caller `json:"identities"`
	// Callers are who the waypoint admits to the Service (or the workloads): the workloads'
	// allowed callers. None: the waypoint admits no one to it.
	Callers []Caller `json:"callers"`
	// Kept names the existing ALLOW policies that already decide at the waypoint for the
	// Service (or for all its traffic): lockdown adds nothing beside them.
	Kept []string `json:"kept,omitempty"`
}

// subject names the traffic b is about, for people: "Service reviews", "workload api-v1".
func (b WaypointBinding) subject() string {
	switch {
	case b.Service != "":
		return "Service " + b.Service
	case len(b.Workload) == 1:
		return "workload " + b.Workload[0]
	}
	return "workloads " + strings.Join(b.Workload, ", ")
}

// bindWaypoints finds the traffic of the namespace that waypoints carry, as istiod binds it:
// Services that use a waypoint for Service traffic, and the pods of workloads that use one
// for workload traffic. For the ambient workloads it reaches that have callers to keep, the
// waypoint's identity is allowed at ztunnel and the callers at the waypoint.
func (p *Plan) bindWaypoints(in Input) {
	for i := range in.Services {
		svc := &in.Services[i]
		gw, ref, problem := serviceWaypoint(in, svc)
		if problem != "" {
			p.Warnings = append(p.Warnings, problem)
		}
		if gw == nil {
			continue
		}
		b := WaypointBinding{Service: svc.Name, Waypoint: ref.Namespace + "/" + ref.Name, From: ref.From, Identities: waypointIdentities(gw, in.GatewayPods)}
		for _, w := range p.Workloads {
			if istio.SelectorMatches(svc.Spec.Selector, w.labels) {
				p.bindWorkload(&b, w)
			}
		}
		if len(b.Workload) > 0 {
			p.Waypoints = append(p.Waypoints, b)
		}
	}
	p.bindWorkloadWaypoints(in)
}

// bindWorkload puts w behind b's waypoint, if it is an ambient workload with callers to keep:
// its callers become the waypoint's, the waypoint's identity is allowed at its ztunnel. The
// identities of waypoints already bound to w are no callers through b: a waypoint sends
// straight to the pods it serves, through no other waypoint.
func (p *Plan) bindWorkload(b *WaypointBinding, w *Workload) {
	if w.Dataplane != istio.DataplaneAmbient || len(p.Allowed[w.Name]) == 0 {
		return
	}
	b.Workload = append(b.Workload, w.Name)
	for _, c := range p.Allowed[w.Name] {
		if !isIdentityOf(c, b.Identities) && !p.isBoundWaypoint(c, w) {
			b.Callers = appendCallers(b.Callers, c)
		}
	}
	p.Allowed[w.Name] = appendCallers(p.Allowed[w.Name], b.Identities...)
}

// isBoundWaypoint reports whether c is the identity of a waypoint bound to w.
func (p *Plan) isBoundWaypoint(c Caller, w *Workload) bool {
	for _, b := range p.Waypoints {
		if slices.Contains(b.Workload, w.Name) && isIdentityOf(c, b.Identities) {
			return true
		}
	}
	return false
}

// bindWorkloadWaypoints binds the workloads whose pods use a waypoint for workload traffic:
// one binding per waypoint of the namespace, whose policy targets the waypoint itself (no
// Service names the traffic). A waypoint of another namespace is allowed at the pods' ztunnel
// but gets no policy: only policies of its own namespace can target it.
func (p *Plan) bindWorkloadWaypoints(in Input) {
	bindings := map[string]*WaypointBinding{}
	var order []string
	for _, w := range p.Workloads {
		for _, found := range workloadWaypoints(in, w) {
			if found.problem != "" {
				p.Warnings = append(p.Warnings, found.problem)
				continue
			}
			name := found.ref.Namespace + "/" + found.ref.Name
			b := bindings[name]
			if b == nil {
				b = &WaypointBinding{Waypoint: name, From: found.ref.From, Identities: waypointIdentities(found.gateway, in.GatewayPods)}
				bindings[name] = b
				order = append(order, name)
			}
			p.bindWorkload(b, w)
		}
	}
	for _, name := range order {
		b := bindings[name]
		switch {
		case len(b.Workload) == 0:
		case !strings.HasPrefix(name, in.Namespace+"/"):
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s uses waypoint %s for its pods' traffic: its identity is allowed at their ztunnel, and who may call them through it is decided by the AuthorizationPolicies of namespace %s that target it, which lockdown does not write",
				b.subject(), name, strings.SplitN(name, "/", 2)[0]))
		default:
			p.Waypoints = append(p.Waypoints, *b)
		}
	}
}

// foundWaypoint is a waypoint istiod sends a workload's traffic through, or the problem with
// one its labels name.
type foundWaypoint struct {
	ref     istio.WaypointRef
	gateway *unstructured.Unstructured
	problem string
}

// serviceWaypoint is the waypoint istiod sends Service svc's traffic through (nil when none),
// and, when svc's or its namespace's labels name one that does not take it, why.
func serviceWaypoint(in Input, svc *corev1.Service) (*unstructured.Unstructured, istio.WaypointRef, string) {
	ref, uses := istio.UseWaypoint("Service", svc.Name, in.Namespace, svc.Labels, in.NamespaceLabels)
	if !uses || len(svc.Spec.Selector) == 0 {
		return nil, ref, ""
	}
	found := resolveWaypoint(in, ref, istio.TrafficService, svc.Name)
	return found.gateway, ref, found.problem
}

// workloadWaypoints are the waypoints istiod sends the traffic addressed to w's pods through
// (their istio.io/use-waypoint, else their namespace's, for a waypoint for workload traffic),
// once each, with the problems of those that do not take it. Only ambient pods have one.
func workloadWaypoints(in Input, w *Workload) []foundWaypoint {
	if w.Dataplane != istio.DataplaneAmbient {
		return nil
	}
	var out []foundWaypoint
	seen := map[string]bool{}
	for i, labels := range w.podLabels {
		ref, uses := istio.UseWaypoint("pod", w.Pods[i], in.Namespace, labels, in.NamespaceLabels)
		if !uses || seen[ref.Namespace+"/"+ref.Name] {
			continue
		}
		seen[ref.Namespace+"/"+ref.Name] = true
		found := resolveWaypoint(in, ref, istio.TrafficWorkload, w.Name)
		if _, own := labels[istio.UseWaypointLabel]; !own && found.gateway == nil {
			// The namespace's waypoint, for Service traffic (the default) or not there: the
			// pods have none, and the Services that use it say what is wrong with it.
			continue
		}
		out = append(out, found)
	}
	return out
}

// resolveWaypoint finds the waypoint ref names and whether istiod binds the traffic of kind
// (of Service or workload name) to it.
func resolveWaypoint(in Input, ref istio.WaypointRef, kind, name string) foundWaypoint {
	found := foundWaypoint{ref: ref}
	subject := kind + " " + name
	gw := findObject(in.K8sGateways, ref.Namespace+"/"+ref.Name)
	if gw == nil || !istio.IsWaypoint(gw) {
		found.problem = fmt.Sprintf("%s uses waypoint %s/%s, which does not exist as a Gateway of class %s: %s's traffic goes through no waypoint",
			ref.From, ref.Namespace, ref.Name, istio.GatewayClassWaypoint, subject)
		return found
	}
	if ok, why := istio.WaypointCarries(gw, in.GatewayClasses, kind, name, in.Namespace, in.NamespaceLabels); !ok {
		found.problem = fmt.Sprintf("%s uses waypoint %s/%s, but istiod does not bind %s to it: %s; its traffic goes through no waypoint", ref.From, ref.Namespace, ref.Name, subject, why)
		return found
	}
	found.gateway = gw
	return found
}

// waypointIdentities are the service accounts of the waypoint's pods, or, before it has any,
// the one Istio deploys it with (the Gateway's name).
func waypointIdentities(gw *unstructured.Unstructured, pods []corev1.Pod) []Caller {
	reason := fmt.Sprintf("waypoint %s/%s", gw.GetNamespace(), gw.GetName())
	callers, _ := podCallers(map[string]string{istio.GatewayNameLabel: gw.GetName()}, gw.GetNamespace(), pods, reason)
	if len(callers) == 0 {
		callers = []Caller{{Namespace: gw.GetNamespace(), ServiceAccount: istio.GatewayDeploymentName(gw), Reason: reason}}
	}
	return callers
}

func isIdentityOf(c Caller, identities []Caller) bool {
	for _, id := range identities {
		if id.Namespace == c.Namespace && id.ServiceAccount == c.ServiceAccount {
			return true
		}
	}
	return false
}

// workloadWaypointPrefix names the policies of workload waypoints: never the name of a
// Service's (waypointPrefix) or a workload's (allowPrefix) policy.
const workloadWaypointPrefix = "kubectl-mesh-workload-waypoint-allow-"

// waypointPolicy admits b's callers at the waypoint: an ALLOW policy that targets the Service,
// or, for traffic addressed to pods, the waypoint itself (Gateway of the same namespace).
func waypointPolicy(namespace string, b WaypointBinding, mesh istio.MeshConfig) *unstructured.Unstructured {
	ap := allowPolicy(namespace, &Workload{}, b.Callers, mesh)
	spec := ap.Object["spec"].(map[string]any)
	delete(spec, "selector")
	if b.Service != "" {
		ap.SetName(objectName(waypointPrefix + b.Service))
		spec["targetRefs"] = []any{map[string]any{"kind": "Service", "group": "", "name": b.Service}}
		return ap
	}
	name := strings.TrimPrefix(b.Waypoint, namespace+"/")
	ap.SetName(objectName(workloadWaypointPrefix + name))
	spec["targetRefs"] = []any{map[string]any{"kind": "Gateway", "group": istio.GatewayAPIGroup, "name": name}}
	return ap
}

func waypointDetail(b WaypointBinding) string {
	var who []string
	for _, c := range b.Callers {
		who = append(who, c.String())
	}
	if len(who) == 0 {
		return fmt.Sprintf("ALLOW nothing at waypoint %s for %s: no caller to keep but the waypoint itself", b.Waypoint, b.subject())
	}
	return fmt.Sprintf("ALLOW at waypoint %s, for %s, from %s", b.Waypoint, b.subject(), strings.Join(who, ", "))
}

// l7Warnings names the policies that ztunnel enforces for ambient workloads (selector and
// namespace-wide ones) but that carry HTTP fields ztunnel cannot read.
func l7Warnings(in Input, workloads []*Workload) []string {
	var out []string
	policies := append(append([]*unstructured.Unstructured{}, in.AuthorizationPolicies...), in.MeshAuthorizationPolicies...)
	for _, ap := range policies {
		fields := istio.L7Fields(ap)
		if len(fields) == 0 || isOurs(ap) {
			continue
		}
		var ambient []string
		for _, w := range workloads {
			if w.Dataplane == istio.DataplaneAmbient && istio.PolicyApplies(ap, in.Mesh.RootNamespace, in.Namespace, w.labels) {
				ambient = append(ambient, w.Name)
			}
		}
		if len(ambient) > 0 {
			effect := "its ALLOW rules that use them never match"
			if istio.Action(ap) == istio.ActionDeny {
				effect = "its DENY rules are enforced without them, and so deny more"
			}
			out = append(out, fmt.Sprintf("%s uses %s, which ztunnel cannot read for ambient workloads %s: %s; target a waypoint with it instead",
				policyRef(ap, in.Namespace), strings.Join(fields, ", "), strings.Join(ambient, ", "), effect))
		}
	}
	return out
}
