package istio

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// gatewayController is the value of gatewayManagedLabel on the pods Istio deploys for an
// ingress (or egress) Gateway of Gateway API.
const gatewayController = "istio.io-gateway-controller"

// IsGatewayPod reports whether Istio runs pod as a gateway: its proxy runs as a router (the
// gateway injection template, istioctl's and the Helm chart's gateways, and the Deployments
// Istio makes for Gateway API Gateways), or Istio's gateway controller deployed it. A pod
// that some Gateway's selector happens to name, running an app beside a sidecar, is not a
// gateway: it never serves the Gateway's listeners.
func IsGatewayPod(pod *corev1.Pod) bool {
	if IsWaypointPod(pod) {
		return false
	}
	if pod.Labels[gatewayManagedLabel] == gatewayController {
		return true
	}
	for _, c := range slices.Concat(pod.Spec.Containers, pod.Spec.InitContainers) {
		if c.Name == ProxyContainer && len(c.Args) >= 2 && c.Args[0] == "proxy" && c.Args[1] == "router" {
			return true
		}
	}
	return false
}

// RouteAllowedByGateway reports whether Gateway gw accepts a route of routeNamespace: one of
// its listeners (the one parent names, when it names a section) admits routes from that
// namespace. Gateway API's default is the Gateway's own namespace only. A listener that
// admits namespaces by label selector is judged by namespaceLabels (nil: unknown, and so
// not admitted).
func RouteAllowedByGateway(gw *unstructured.Unstructured, sectionName, routeNamespace string, namespaceLabels map[string]string) bool {
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	for _, l := range listeners {
		listener := asMap(l)
		if name, _ := listener["name"].(string); sectionName != "" && name != sectionName {
			continue
		}
		from, _, _ := unstructured.NestedString(listener, "allowedRoutes", "namespaces", "from")
		switch from {
		case "All":
			return true
		case "", "Same":
			if routeNamespace == gw.GetNamespace() {
				return true
			}
		case "Selector":
			selector, _, _ := unstructured.NestedStringMap(listener, "allowedRoutes", "namespaces", "selector", "matchLabels")
			_, hasExpressions, _ := unstructured.NestedSlice(listener, "allowedRoutes", "namespaces", "selector", "matchExpressions")
			if namespaceLabels != nil && len(selector) > 0 && !hasExpressions && SelectorMatches(selector, namespaceLabels) {
				return true
			}
		}
	}
	return false
}

// ReferenceGranted reports whether one of grants (ReferenceGrants of the backend's
// namespace) lets a route of kind routeKind in routeNamespace refer to Service name: without
// one, Istio does not route across namespaces.
func ReferenceGranted(grants []*unstructured.Unstructured, routeKind, routeNamespace, service string) bool {
	for _, g := range grants {
		if grantFrom(g, routeKind, routeNamespace) && grantTo(g, service) {
			return true
		}
	}
	return false
}

func grantFrom(g *unstructured.Unstructured, kind, namespace string) bool {
	from, _, _ := unstructured.NestedSlice(g.Object, "spec", "from")
	for _, f := range from {
		m := asMap(f)
		if m["group"] == GatewayAPIGroup && m["kind"] == kind && m["namespace"] == namespace {
			return true
		}
	}
	return false
}

func grantTo(g *unstructured.Unstructured, service string) bool {
	to, _, _ := unstructured.NestedSlice(g.Object, "spec", "to")
	for _, t := range to {
		m := asMap(t)
		group, _ := m["group"].(string)
		name, _ := m["name"].(string)
		if (group == "" || group == "core") && m["kind"] == "Service" && (name == "" || name == service) {
			return true
		}
	}
	return false
}
