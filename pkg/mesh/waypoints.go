package mesh

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
)

// GatewayClasses are Gateway API's (cluster-scoped) classes of Gateway.
var GatewayClasses = IstioResource{gatewayAPI, "gatewayclasses", "GatewayClass"}

// waypointClass is what was read of GatewayClass istio-waypoint: its istio.io/waypoint-for
// label says what its waypoints carry, unless they say it themselves.
type waypointClass struct {
	classes   []*unstructured.Unstructured // the class; none when it does not exist
	forbidden bool                         // the user may not read it
}

// readWaypointClass reads GatewayClass istio-waypoint into *into. A class that does not exist
// leaves istiod's default (Service traffic); one the user may not read is said by warn, where
// it matters.
func (c *Clients) readWaypointClass(ctx context.Context, into *waypointClass) func() error {
	return func() error {
		class, err := c.Dynamic.Resource(GatewayClasses.GVR()).Get(ctx, istio.GatewayClassWaypoint, metav1.GetOptions{})
		switch {
		case err == nil:
			into.classes = []*unstructured.Unstructured{class}
		case apierrors.IsNotFound(err):
		case apierrors.IsForbidden(err):
			into.forbidden = true
		default:
			return err
		}
		return nil
	}
}

// warn says, when the class could not be read, what that leaves out: the waypoints among
// gateways without an istio.io/waypoint-for label of their own are taken to carry Service
// traffic, the default.
func (wc waypointClass) warn(w *warnings, gateways []*unstructured.Unstructured) {
	unlabelled := waypointsLeavingTrafficToClass(gateways)
	if !wc.forbidden || len(unlabelled) == 0 {
		return
	}
	w.add("you may not get %s %s (cluster-scoped: a RoleBinding cannot grant it), which says what waypoints without an %s label of their own carry: %s taken to carry Service traffic, the default; label them as istioctl waypoint apply does, or grant get on it cluster-wide",
		GatewayClasses.QualifiedName(), istio.GatewayClassWaypoint, istio.WaypointForLabel, strings.Join(unlabelled, ", "))
}

// waypointsLeavingTrafficToClass are the waypoints among gateways (namespace/name) without an
// istio.io/waypoint-for label: what they carry is their GatewayClass's to say.
func waypointsLeavingTrafficToClass(gateways []*unstructured.Unstructured) []string {
	var out []string
	for _, gw := range gateways {
		if _, labelled := gw.GetLabels()[istio.WaypointForLabel]; istio.IsWaypoint(gw) && !labelled {
			out = append(out, gw.GetNamespace()+"/"+gw.GetName())
		}
	}
	return out
}

// usedWaypoints are the Gateways that the namespace, its Services or its pods name as their
// waypoint (istio.io/use-waypoint).
func usedWaypoints(in lockdown.Input) []*unstructured.Unstructured {
	named := map[string]bool{}
	use := func(kind, name string, labels map[string]string) {
		if ref, ok := istio.UseWaypoint(kind, name, in.Namespace, labels, in.NamespaceLabels); ok {
			named[ref.Namespace+"/"+ref.Name] = true
		}
	}
	use("namespace", in.Namespace, nil)
	for _, svc := range in.Services {
		use("Service", svc.Name, svc.Labels)
	}
	for _, pod := range in.Pods {
		use("pod", pod.Name, pod.Labels)
	}
	var out []*unstructured.Unstructured
	for _, gw := range in.K8sGateways {
		if named[gw.GetNamespace()+"/"+gw.GetName()] {
			out = append(out, gw)
		}
	}
	return out
}
