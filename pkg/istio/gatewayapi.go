package istio

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Gateway API as Istio implements it.
const (
	GatewayAPIGroup = "gateway.networking.k8s.io"
	// GatewayNameLabel is on the pods Istio deploys for a Gateway (and their Deployment).
	GatewayNameLabel = "gateway.networking.k8s.io/gateway-name"
	// GatewayClassIstio is Istio's ingress (and egress) gateway class; GatewayClassWaypoint
	// its class of waypoint proxies for ambient mode.
	GatewayClassIstio    = "istio"
	GatewayClassWaypoint = "istio-waypoint"
	// nameOverrideAnnotation renames what Istio deploys for a Gateway.
	nameOverrideAnnotation = "gateway.istio.io/name-override"
)

// Ref is a reference from a route to a Gateway or Service, as Gateway API defaults it.
type Ref struct {
	Group, Kind     string // group "" is the core group (also written "core")
	Namespace, Name string
	Port            int64  // 0: any
	SectionName     string // a parentRef's listener; "": any
}

// GatewayClass is a Gateway's spec.gatewayClassName.
func GatewayClass(gw *unstructured.Unstructured) string {
	class, _, _ := unstructured.NestedString(gw.Object, "spec", "gatewayClassName")
	return class
}

// GatewayDeploymentName is the name of the Deployment and ServiceAccount Istio deploys for a
// Gateway: NAME-CLASS (NAME-istio), NAME alone for a waypoint, or the name override.
func GatewayDeploymentName(gw *unstructured.Unstructured) string {
	if override := gw.GetAnnotations()[nameOverrideAnnotation]; override != "" {
		return override
	}
	class := GatewayClass(gw)
	if class == GatewayClassWaypoint {
		return gw.GetName()
	}
	return gw.GetName() + "-" + class
}

// ParentGateways are the Gateways a route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute) attaches
// to: parentRefs of kind Gateway, the default.
func ParentGateways(route *unstructured.Unstructured) []Ref {
	return only(parentRefs(route), GatewayAPIGroup, "Gateway")
}

// ParentServices are the Services a route attaches to for mesh traffic (GAMMA): parentRefs of
// the core group and kind Service.
func ParentServices(route *unstructured.Unstructured) []Ref {
	return only(parentRefs(route), "", "Service")
}

// BackendServices are the Services a route sends to: every rule's backendRefs of kind Service,
// the default.
func BackendServices(route *unstructured.Unstructured) []Ref {
	var refs []Ref
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		backends, _, _ := unstructured.NestedSlice(asMap(r), "backendRefs")
		refs = append(refs, readRefs(backends, route.GetNamespace(), "", "Service")...)
	}
	return only(refs, "", "Service")
}

// parentRefs default to Gateways of Gateway API.
func parentRefs(route *unstructured.Unstructured) []Ref {
	refs, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	return readRefs(refs, route.GetNamespace(), GatewayAPIGroup, "Gateway")
}

// readRefs reads references, filling in what Gateway API defaults: the group and kind of
// the list they stand in, the namespace of the route.
func readRefs(list []any, namespace, group, kind string) []Ref {
	out := make([]Ref, 0, len(list))
	for _, item := range list {
		m := asMap(item)
		ref := Ref{Group: group, Kind: kind, Namespace: namespace}
		if g, ok := m["group"].(string); ok {
			ref.Group = g
		}
		if ref.Group == "core" {
			ref.Group = ""
		}
		if k, _ := m["kind"].(string); k != "" {
			ref.Kind = k
		}
		if ns, _ := m["namespace"].(string); ns != "" {
			ref.Namespace = ns
		}
		ref.Name, _ = m["name"].(string)
		ref.SectionName, _ = m["sectionName"].(string)
		switch port := m["port"].(type) {
		case int64:
			ref.Port = port
		case float64:
			ref.Port = int64(port)
		}
		out = append(out, ref)
	}
	return out
}

func only(refs []Ref, group, kind string) []Ref {
	var out []Ref
	for _, r := range refs {
		if r.Group == group && r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// MisgroupedServiceParents are parentRefs of kind Service whose group is Gateway API's: what
// the API server fills in when a route leaves the group out. Istio attaches mesh routes to
// Services of the core group only, so such a route does not apply; it is what the user meant.
func MisgroupedServiceParents(route *unstructured.Unstructured) []Ref {
	return only(parentRefs(route), GatewayAPIGroup, "Service")
}

// RuleMatchesEverything reports whether a route rule (HTTPRoute or GRPCRoute) matches every
// request: no matches, or a match that is only the path prefix "/" (what the API server fills
// in for an HTTPRoute rule without matches).
func RuleMatchesEverything(rule map[string]any) bool {
	matches, _ := rule["matches"].([]any)
	if len(matches) == 0 {
		return true
	}
	for _, m := range matches {
		match := asMap(m)
		path := asMap(match["path"])
		if len(match) == 1 && path != nil && path["value"] == "/" && (path["type"] == nil || path["type"] == "PathPrefix") {
			return true
		}
	}
	return false
}
