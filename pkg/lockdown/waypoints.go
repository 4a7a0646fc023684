package lockdown

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// WaypointBinding is a Service whose traffic goes through a waypoint (ambient mode): the
// destination's ztunnel then sees the waypoint's identity, not the caller's, and the real
// callers can only be told apart at the waypoint, which enforces the AuthorizationPolicies
// that target the Service (targetRefs) and ignores selector policies.
type WaypointBinding struct {
	Service  string   `json:"service"`
	Waypoint string   `json:"waypoint"` // namespace/name
	From     string   `json:"from"`     // what binds it: "Service reviews", "namespace shop"
	Workload []string `json:"workloads"`
	// Identities are the waypoint's principals, allowed at the workloads' ztunnel.
	Identities []Caller `json:"identities"`
	// Callers are who the waypoint admits to the Service: the workloads' allowed callers.
	// None: the waypoint admits no one to it.
	Callers []Caller `json:"callers"`
	// Kept names the existing ALLOW policies that already decide at the waypoint for the
	// Service: lockdown adds nothing beside them.
	Kept []string `json:"kept,omitempty"`
}

// bindWaypoints finds the Services of the namespace that use a waypoint and, for the ambient
// workloads they select that have callers to keep, allows the waypoint's identity at ztunnel
// and the callers at the waypoint.
func (p *Plan) bindWaypoints(in Input) {
	for _, svc := range in.Services {
		ref, uses := istio.UseWaypoint("Service", svc.Name, in.Namespace, svc.Labels, in.NamespaceLabels)
		if !uses || len(svc.Spec.Selector) == 0 {
			continue
		}
		gw := findObject(in.K8sGateways, ref.Namespace+"/"+ref.Name)
		if gw == nil || !istio.IsWaypoint(gw) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s uses waypoint %s/%s, which does not exist as a Gateway of class %s: Service %s's traffic goes through no waypoint",
				ref.From, ref.Namespace, ref.Name, istio.GatewayClassWaypoint, svc.Name))
			continue
		}
		b := WaypointBinding{Service: svc.Name, Waypoint: ref.Namespace + "/" + ref.Name, From: ref.From, Identities: waypointIdentities(gw, in.GatewayPods)}
		for _, w := range p.Workloads {
			if w.Dataplane != istio.DataplaneAmbient || !istio.SelectorMatches(svc.Spec.Selector, w.labels) || len(p.Allowed[w.Name]) == 0 {
				continue
			}
			b.Workload = append(b.Workload, w.Name)
			for _, c := range p.Allowed[w.Name] {
				if !isIdentityOf(c, b.Identities) {
					b.Callers = appendCallers(b.Callers, c)
				}
			}
		}
		if len(b.Workload) == 0 {
			continue
		}
		for _, name := range b.Workload {
			p.Allowed[name] = appendCallers(p.Allowed[name], b.Identities...)
		}
		p.Waypoints = append(p.Waypoints, b)
	}
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

// waypointPolicy admits b's callers at the waypoint: an ALLOW policy that targets the Service.
func waypointPolicy(namespace string, b WaypointBinding, mesh istio.MeshConfig) *unstructured.Unstructured {
	ap := allowPolicy(namespace, &Workload{}, b.Callers, mesh)
	ap.SetName(objectName(waypointPrefix + b.Service))
	spec := ap.Object["spec"].(map[string]any)
	delete(spec, "selector")
	spec["targetRefs"] = []any{map[string]any{"kind": "Service", "group": "", "name": b.Service}}
	return ap
}

func waypointDetail(b WaypointBinding) string {
	var who []string
	for _, c := range b.Callers {
		who = append(who, c.String())
	}
	if len(who) == 0 {
		return fmt.Sprintf("ALLOW nothing at waypoint %s for Service %s: no caller to keep but the waypoint itself", b.Waypoint, b.Service)
	}
	return fmt.Sprintf("ALLOW at waypoint %s, for Service %s, from %s", b.Waypoint, b.Service, strings.Join(who, ", "))
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
