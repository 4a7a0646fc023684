package canary

import (
	"fmt"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// checkDataPlane refuses a split that would not take effect: in an ambient namespace ztunnel
// carries traffic at L4 and cannot split HTTP requests, so the service's traffic must go
// through a waypoint (a Gateway of class istio-waypoint that the Service or its namespace uses).
// A waypoint that is not Programmed yet is a warning.
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
		p.Waypoint = ref.Namespace + "/" + ref.Name
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

// checkWaypoint finds the waypoint the service uses; a missing one (or one of another class)
// is a problem, one not Programmed yet a warning.
func (p *Plan) checkWaypoint(in Input, ref istio.WaypointRef, fix string) string {
	for _, gw := range in.Waypoints {
		if gw.GetNamespace() != ref.Namespace || gw.GetName() != ref.Name {
			continue
		}
		if !istio.IsWaypoint(gw) {
			return fmt.Sprintf("%s uses waypoint %s/%s, but that Gateway is of class %q, not %s", ref.From, ref.Namespace, ref.Name, istio.GatewayClass(gw), istio.GatewayClassWaypoint)
		}
		if ok, why := istio.GatewayProgrammed(gw); !ok {
			p.Warnings = append(p.Warnings, fmt.Sprintf("waypoint %s/%s is not Programmed (%s): the split takes effect once it is", ref.Namespace, ref.Name, why))
		}
		return ""
	}
	return fmt.Sprintf("%s uses waypoint %s/%s, which does not exist: ztunnel cannot split HTTP requests without it; %s", ref.From, ref.Namespace, ref.Name, fix)
}
