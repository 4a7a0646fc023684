package istio

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Ambient mode's labels. A pod (or every pod of a namespace) labelled
// istio.io/dataplane-mode=ambient is carried by ztunnel; "none" on the pod opts it out. A
// Service, pod or namespace labelled istio.io/use-waypoint=NAME sends its traffic through
// waypoint NAME (in istio.io/use-waypoint-namespace, else its own namespace); "none" opts out
// of a namespace's waypoint.
const (
	DataplaneModeLabel        = "istio.io/dataplane-mode"
	DataplaneModeAmbient      = "ambient"
	DataplaneModeNone         = "none"
	UseWaypointLabel          = "istio.io/use-waypoint"
	UseWaypointNamespaceLabel = "istio.io/use-waypoint-namespace"
	useWaypointNone           = "none"
)

// NamespaceIsAmbient reports whether a namespace's pods are enrolled in ambient by default.
func NamespaceIsAmbient(namespaceLabels map[string]string) bool {
	return namespaceLabels[DataplaneModeLabel] == DataplaneModeAmbient
}

// InAmbient reports whether ztunnel carries pod's traffic: enrolled by its own label or its
// namespace's, not opted out, and without a sidecar (ambient and a sidecar do not mix).
func InAmbient(pod *corev1.Pod, namespaceLabels map[string]string) bool {
	switch pod.Labels[DataplaneModeLabel] {
	case DataplaneModeAmbient:
		return !HasSidecar(pod)
	case DataplaneModeNone:
		return false
	}
	return NamespaceIsAmbient(namespaceLabels) && !HasSidecar(pod)
}

// WaypointRef names the waypoint an object uses.
type WaypointRef struct {
	Namespace, Name string
	// From says where the binding comes from, for messages: "Service reviews", "namespace shop".
	From string
}

// UseWaypoint is the waypoint an object (a Service, or a pod) of namespace uses: its own
// istio.io/use-waypoint label, else its namespace's; ok is false when there is none or the
// object opts out with "none".
func UseWaypoint(kind, name, namespace string, objectLabels, namespaceLabels map[string]string) (WaypointRef, bool) {
	if v, set := objectLabels[UseWaypointLabel]; set {
		return waypointRef(v, objectLabels[UseWaypointNamespaceLabel], namespace, kind+" "+name)
	}
	if v, set := namespaceLabels[UseWaypointLabel]; set {
		return waypointRef(v, namespaceLabels[UseWaypointNamespaceLabel], namespace, "namespace "+namespace)
	}
	return WaypointRef{}, false
}

func waypointRef(name, waypointNamespace, namespace, from string) (WaypointRef, bool) {
	if name == "" || name == useWaypointNone {
		return WaypointRef{}, false
	}
	if waypointNamespace == "" {
		waypointNamespace = namespace
	}
	return WaypointRef{Namespace: waypointNamespace, Name: name, From: from}, true
}

// IsWaypoint reports whether gw is a Gateway of Istio's waypoint class.
func IsWaypoint(gw *unstructured.Unstructured) bool {
	return GatewayClass(gw) == GatewayClassWaypoint
}

// What a waypoint carries: the istio.io/waypoint-for label of the Gateway, else of its
// GatewayClass, else traffic addressed to Services.
const (
	WaypointForLabel    = "istio.io/waypoint-for"
	WaypointForService  = "service"
	WaypointForWorkload = "workload"
	WaypointForAll      = "all"
	WaypointForNone     = "none"
)

// Kinds of traffic a waypoint may carry, for WaypointCarries: addressed to a Service, or to a
// pod (a workload waypoint, bound by the pod's or its namespace's istio.io/use-waypoint).
const (
	TrafficService  = "Service"
	TrafficWorkload = "workload"
)

// WaypointFor is the traffic waypoint gw is for, as istiod reads it: the Gateway's
// istio.io/waypoint-for label, else its GatewayClass's (found among classes by name; a class
// not found counts as unlabelled), else "service"; and where the value comes from.
func WaypointFor(gw *unstructured.Unstructured, classes []*unstructured.Unstructured) (traffic, from string) {
	if v, ok := gw.GetLabels()[WaypointForLabel]; ok {
		return v, fmt.Sprintf("%s=%s on Gateway %s/%s", WaypointForLabel, v, gw.GetNamespace(), gw.GetName())
	}
	for _, class := range classes {
		if class.GetName() != GatewayClass(gw) {
			continue
		}
		if v, ok := class.GetLabels()[WaypointForLabel]; ok {
			return v, fmt.Sprintf("%s=%s on GatewayClass %s", WaypointForLabel, v, class.GetName())
		}
	}
	return WaypointForService, "the default: no " + WaypointForLabel + " label on the Gateway or its GatewayClass"
}

// WaypointCarries reports whether istiod sends traffic of kind (TrafficService, for Service
// name; TrafficWorkload, for the pods of workload name) of namespace, whose labels are
// namespaceLabels, through waypoint gw, which the object's or namespace's istio.io/use-waypoint
// names; classes are the GatewayClasses (only the waypoint's matters). istiod binds it only
// when gw is a waypoint, is for that kind of traffic (service or all; workload or all), and its
// HBONE listener (port 15008) admits routes from namespace: Gateway API's allowedRoutes,
// default the waypoint's own namespace. Otherwise the traffic goes through no waypoint, and why
// says what is wrong, naming the waypoint and the object.
func WaypointCarries(gw *unstructured.Unstructured, classes []*unstructured.Unstructured, kind, name, namespace string, namespaceLabels map[string]string) (ok bool, why string) {
	ref := gw.GetNamespace() + "/" + gw.GetName()
	if !IsWaypoint(gw) {
		return false, fmt.Sprintf("Gateway %s is of class %q, not %s: it is no waypoint", ref, GatewayClass(gw), GatewayClassWaypoint)
	}
	traffic, from := WaypointFor(gw, classes)
	wants := WaypointForService
	if kind == TrafficWorkload {
		wants = WaypointForWorkload
	}
	if traffic != wants && traffic != WaypointForAll {
		return false, fmt.Sprintf("waypoint %s is not for %s traffic (%s; %s %s needs %s or %s)",
			ref, wants, from, kind, name, wants, WaypointForAll)
	}
	if !hboneAdmits(gw, namespace, namespaceLabels) {
		return false, fmt.Sprintf("waypoint %s does not admit namespace %s, where %s %s is (allowedRoutes of its HBONE listener on port 15008; by default its own namespace only)",
			ref, namespace, kind, name)
	}
	return true, ""
}

// hboneAdmits: istiod takes a waypoint's allowedRoutes from its listener of protocol HBONE on
// port 15008; without one, the waypoint admits its own namespace only.
func hboneAdmits(gw *unstructured.Unstructured, namespace string, namespaceLabels map[string]string) bool {
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	for _, l := range listeners {
		listener := asMap(l)
		port, _, _ := unstructured.NestedInt64(listener, "port")
		if listener["protocol"] == "HBONE" && port == 15008 {
			name, _ := listener["name"].(string)
			return RouteAllowedByGateway(gw, name, namespace, namespaceLabels)
		}
	}
	return namespace == gw.GetNamespace()
}

// GatewayProgrammed reports whether a Gateway's status says Programmed=True, and the
// condition's message when it does not.
func GatewayProgrammed(gw *unstructured.Unstructured) (bool, string) {
	conditions, _, _ := unstructured.NestedSlice(gw.Object, "status", "conditions")
	for _, c := range conditions {
		m := asMap(c)
		if m["type"] == "Programmed" {
			msg, _ := m["message"].(string)
			return m["status"] == "True", msg
		}
	}
	return false, "no Programmed condition in its status yet"
}

// Labels Istio puts on the pods it deploys for a Gateway.
const (
	gatewayClassLabel   = "gateway.networking.k8s.io/gateway-class-name"
	gatewayManagedLabel = "gateway.istio.io/managed"
	meshController      = "istio.io-mesh-controller"
)

// IsWaypointPod reports whether Istio deployed pod as a waypoint.
func IsWaypointPod(pod *corev1.Pod) bool {
	return pod.Labels[gatewayClassLabel] == GatewayClassWaypoint || pod.Labels[gatewayManagedLabel] == meshController
}

// Data planes a pod can be on.
const (
	DataplaneSidecar = "sidecar"
	DataplaneAmbient = "ambient"
	DataplaneNone    = "none"
)

// Dataplane says how pod takes part in the mesh: with a sidecar, enrolled in ambient (ztunnel
// carries its traffic), or not at all.
func Dataplane(pod *corev1.Pod, namespaceLabels map[string]string) string {
	switch {
	case HasSidecar(pod):
		return DataplaneSidecar
	case InAmbient(pod, namespaceLabels):
		return DataplaneAmbient
	}
	return DataplaneNone
}
