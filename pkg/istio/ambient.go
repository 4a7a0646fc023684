package istio

import (
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
