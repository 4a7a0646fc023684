package canary

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// checkDataPlane refuses a split that would not take effect: in an ambient namespace ztunnel
// carries traffic at L4 and cannot split HTTP requests, so the service's traffic must go
// through a waypoint that istiod binds it to (a Gateway of class istio-waypoint, named by the
// Service or its namespace, for Service traffic, admitting the Service's namespace). A
// waypoint that is not Programmed yet is a warning.
func (p *Plan) checkDataPlane(in Input, req Request) error {
	if !istio.NamespaceIsAmbient(in.NamespaceLabels) {
		return nil
	}
	ref, uses := istio.UseWaypoint("Service", in.Service.Name, in.Service.Namespace, in.ServiceLabels, in.NamespaceLabels)
	fix := fmt.Sprintf("add one: istioctl waypoint apply -n %s --enroll-namespace (or label Service %s istio.io/use-waypoint=NAME)", in.Service.Namespace, in.Service.Name)
	problem := ""
	switch {
	case !uses:
		problem = fmt.Sprintf("namespace %s is in ambient mode and Service %s uses no waypoint: ztunnel carries its traffic at L4 and cannot split HTTP requests; %s", in.Service.Namespace, in.Service.Name, fix)
	default:
		problem = p.checkWaypoint(in, ref, fix)
	}
	if problem == "" {
		return nil
	}
	if !req.changesWeights() {
		p.Warnings = append(p.Warnings, problem)
		return nil
	}
	return fmt.Errorf("%s: %s", p.Service, problem)
}

// checkWaypoint finds the waypoint the service uses and sets it as the plan's when istiod
// sends the Service's traffic through it; a missing one, or one that does not take the
// Service's traffic, is a problem, one not Programmed yet a warning.
func (p *Plan) checkWaypoint(in Input, ref istio.WaypointRef, fix string) string {
	for _, gw := range in.Waypoints {
		if gw.GetNamespace() != ref.Namespace || gw.GetName() != ref.Name {
			continue
		}
		if !istio.IsWaypoint(gw) {
			return fmt.Sprintf("%s uses waypoint %s/%s, but that Gateway is of class %q, not %s", ref.From, ref.Namespace, ref.Name, istio.GatewayClass(gw), istio.GatewayClassWaypoint)
		}
		if ok, why := istio.WaypointCarries(gw, in.GatewayClasses, istio.TrafficService, in.Service.Name, in.Service.Namespace, in.NamespaceLabels); !ok {
			return fmt.Sprintf("%s uses waypoint %s/%s, but istiod does not send Service %s's traffic through it: %s; ztunnel cannot split HTTP requests, so the split would be ignored; %s, or use another waypoint",
				ref.From, ref.Namespace, ref.Name, in.Service.Name, why, waypointFix(gw, in))
		}
		p.Waypoint = ref.Namespace + "/" + ref.Name
		if ok, why := istio.GatewayProgrammed(gw); !ok {
			p.Warnings = append(p.Warnings, fmt.Sprintf("waypoint %s/%s is not Programmed (%s): the split takes effect once it is", ref.Namespace, ref.Name, why))
		}
		return ""
	}
	return fmt.Sprintf("%s uses waypoint %s/%s, which does not exist: ztunnel cannot split HTTP requests without it; %s", ref.From, ref.Namespace, ref.Name, fix)
}

// waypointFix says how to make a waypoint take the Service's traffic: label it for Service
// traffic, or admit the Service's namespace in its HBONE listener.
func waypointFix(gw *unstructured.Unstructured, in Input) string {
	if traffic, _ := istio.WaypointFor(gw, in.GatewayClasses); traffic != istio.WaypointForService && traffic != istio.WaypointForAll {
		return fmt.Sprintf("label Gateway %s/%s %s=%s (or %s) if it should carry Service traffic", gw.GetNamespace(), gw.GetName(), istio.WaypointForLabel, istio.WaypointForService, istio.WaypointForAll)
	}
	return fmt.Sprintf("let the allowedRoutes of Gateway %s/%s's HBONE listener (port 15008) admit namespace %s", gw.GetNamespace(), gw.GetName(), in.Service.Namespace)
}
