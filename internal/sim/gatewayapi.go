package sim

import (
	"math/rand/v2"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Gateway API's mesh routing (GAMMA), read from the Gateway API specification: an HTTPRoute
// whose parentRefs name a Service (group "" or "core", kind Service) routes the requests for
// that Service. A route in the caller's namespace (a consumer route) wins over one in the
// Service's namespace (a producer route). Rules are tried in order; the first whose matches
// match the request sends it to one of its backendRefs, drawn by weight (1 when unset).

// httpRouteFor finds the HTTPRoute that routes a caller's requests for svc, if any.
func (m *Mesh) httpRouteFor(callerNS string, svc *corev1.Service) *unstructured.Unstructured {
	var producer *unstructured.Unstructured
	for _, route := range m.HTTPRoutes {
		if !attachedTo(route, svc) {
			continue
		}
		if route.GetNamespace() == callerNS {
			return route
		}
		if route.GetNamespace() == svc.Namespace && producer == nil {
			producer = route
		}
	}
	return producer
}

func attachedTo(route *unstructured.Unstructured, svc *corev1.Service) bool {
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	for _, p := range parents {
		ref, _ := p.(map[string]any)
		group, hasGroup := ref["group"].(string)
		kind, _ := ref["kind"].(string)
		namespace, _ := ref["namespace"].(string)
		if namespace == "" {
			namespace = route.GetNamespace()
		}
		if hasGroup && (group == "" || group == "core") && kind == "Service" && ref["name"] == svc.Name && namespace == svc.Namespace {
			return true
		}
	}
	return false
}

// routeHTTPRoute sends req by the route's first matching rule.
func (m *Mesh) routeHTTPRoute(rng *rand.Rand, route *unstructured.Unstructured, req Request) Target {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		if !httpRuleMatches(rule, req) {
			continue
		}
		backends, _ := rule["backendRefs"].([]any)
		backend := pickBackend(rng, backends)
		if backend == nil {
			return Target{Flag: "NR"}
		}
		name, _ := backend["name"].(string)
		namespace, _ := backend["namespace"].(string)
		if namespace == "" {
			namespace = route.GetNamespace()
		}
		svc := m.Service(name, namespace)
		if svc == nil {
			return Target{Flag: "NC"} // a backend that does not exist: no cluster to send to
		}
		return m.pick(rng, svc, nil)
	}
	return Target{Flag: "NR"}
}

// httpRuleMatches: no matches match everything; otherwise one match must hold in full (path,
// method, headers).
func httpRuleMatches(rule map[string]any, req Request) bool {
	matches, _ := rule["matches"].([]any)
	if len(matches) == 0 {
		return true
	}
	for _, mm := range matches {
		match, _ := mm.(map[string]any)
		if pathMatches(match["path"], req.Path) && methodMatches(match["method"], req.Method) && headersHold(match["headers"], req.Headers) {
			return true
		}
	}
	return false
}

func pathMatches(p any, path string) bool {
	m, _ := p.(map[string]any)
	if m == nil {
		return true
	}
	value, _ := m["value"].(string)
	switch m["type"] {
	case "Exact":
		return path == value
	default: // PathPrefix, the default
		return value == "/" || path == value || strings.HasPrefix(path, strings.TrimSuffix(value, "/")+"/")
	}
}

func methodMatches(m any, method string) bool {
	want, _ := m.(string)
	return want == "" || want == method
}

func headersHold(h any, have map[string]string) bool {
	list, _ := h.([]any)
	for _, item := range list {
		header, _ := item.(map[string]any)
		name, _ := header["name"].(string)
		value, _ := header["value"].(string)
		if have[strings.ToLower(name)] != value {
			return false
		}
	}
	return true
}

// pickBackend draws a backendRef by weight (1 when unset, 0 takes none).
func pickBackend(rng *rand.Rand, backends []any) map[string]any {
	var total int64
	weights := make([]int64, len(backends))
	for i, b := range backends {
		ref, _ := b.(map[string]any)
		weights[i] = 1
		if w, ok := ref["weight"]; ok {
			weights[i] = toInt(w)
		}
		total += weights[i]
	}
	if total <= 0 {
		return nil
	}
	n := rng.Int64N(total)
	for i, b := range backends {
		if n < weights[i] {
			ref, _ := b.(map[string]any)
			return ref
		}
		n -= weights[i]
	}
	return nil
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}
