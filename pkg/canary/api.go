package canary

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// routeAPI is what differs between the routes a canary edits: Istio's VirtualService (http
// routes of weighted destinations, versions as subsets of a DestinationRule) and Gateway API's
// HTTPRoute and GRPCRoute (rules of weighted backendRefs, one Service per version). Route
// choice, roles, weights, records and safety are the same for all three.
type routeAPI struct {
	Kind    string // VirtualService, HTTPRoute or GRPCRoute
	rules   string // the spec field holding the rules
	entries string // a rule's field of weighted destinations
	matches string // a rule's field of match conditions
	// Term is what a version is called, and what a rule is, for people.
	Term, RuleTerm string
}

var (
	virtualServiceAPI = routeAPI{Kind: "VirtualService", rules: "http", entries: "route", matches: "match", Term: "subset", RuleTerm: "route"}
	httpRouteAPI      = routeAPI{Kind: "HTTPRoute", rules: "rules", entries: "backendRefs", matches: "matches", Term: "backend", RuleTerm: "rule"}
	grpcRouteAPI      = routeAPI{Kind: "GRPCRoute", rules: "rules", entries: "backendRefs", matches: "matches", Term: "backend", RuleTerm: "rule"}
)

// apiOf is the API of a route object.
func apiOf(obj *unstructured.Unstructured) routeAPI {
	switch obj.GetKind() {
	case httpRouteAPI.Kind:
		return httpRouteAPI
	case grpcRouteAPI.Kind:
		return grpcRouteAPI
	}
	return virtualServiceAPI
}

// gatewayAPI reports whether versions are Services (Gateway API) rather than subsets.
func (a routeAPI) gatewayAPI() bool { return a.Kind != virtualServiceAPI.Kind }

// destination is one weighted entry of a rule.
type destination struct {
	entry map[string]any // the entry itself, shared with the object: changes to it change the route
	// host is what the entry sends to: a VirtualService's destination host, a backendRef's
	// Service as namespace/name (or, for another kind of backend, group/kind/name).
	host string
	// backend is the version: a subset, or a version Service's name; "" for the whole service.
	backend string
	weight  int64 // as written, or the API's default
}

func (d destination) String() string {
	if d.backend == "" {
		return fmt.Sprintf("%s %d", d.host, d.weight)
	}
	return fmt.Sprintf("%s %d", d.backend, d.weight)
}

// destinations reads a rule's entries. An entry without a weight weighs 0 in a VirtualService
// (a lone one carries everything) and 1 in Gateway API: weights are relative either way.
func (a routeAPI) destinations(rule map[string]any, svc istio.Service) []destination {
	list, _ := rule[a.entries].([]any)
	out := make([]destination, 0, len(list))
	for _, e := range list {
		entry, ok := e.(map[string]any)
		if !ok {
			continue
		}
		d := destination{entry: entry}
		_, hasWeight := entry["weight"]
		d.weight = weightOf(entry["weight"])
		if a.gatewayAPI() {
			d.host, d.backend = backendRefTarget(entry, svc)
			if !hasWeight {
				d.weight = 1
			}
		} else {
			d.host, _, _ = unstructured.NestedString(entry, "destination", "host")
			d.backend, _, _ = unstructured.NestedString(entry, "destination", "subset")
		}
		out = append(out, d)
	}
	if len(out) == 1 && !a.gatewayAPI() {
		if _, set := out[0].entry["weight"]; !set {
			out[0].weight = 100
		}
	}
	return out
}

// backendRefTarget reads a backendRef: the Service it names as namespace/name, and as a
// version the Service's name unless it is the service itself.
func backendRefTarget(entry map[string]any, svc istio.Service) (host, backend string) {
	group, _ := entry["group"].(string)
	kind, _ := entry["kind"].(string)
	name, _ := entry["name"].(string)
	namespace, _ := entry["namespace"].(string)
	if namespace == "" {
		namespace = svc.Namespace
	}
	if (group != "" && group != "core") || (kind != "" && kind != "Service") {
		return fmt.Sprintf("%s/%s %s", group, kind, name), name
	}
	host = namespace + "/" + name
	if namespace == svc.Namespace && name == svc.Name {
		return host, ""
	}
	return host, name
}

// setBackend points an entry at backend (a subset, or a Service's name).
func (a routeAPI) setBackend(entry map[string]any, backend string) {
	if a.gatewayAPI() {
		entry["name"] = backend
		return
	}
	dest, _ := entry["destination"].(map[string]any)
	dest["subset"] = backend
}

// newEntry is an entry for backend with weight, modelled on template (another entry of the
// rule): same host and port for a subset; same port (when the Service has it) for a Service.
func (a routeAPI) newEntry(template map[string]any, backend Backend, weight int64) map[string]any {
	if !a.gatewayAPI() {
		dest := map[string]any{}
		if old, ok := template["destination"].(map[string]any); ok {
			for k, v := range old {
				if k != "subset" {
					dest[k] = v
				}
			}
		}
		dest["subset"] = backend.Name
		return map[string]any{"destination": dest, "weight": weight}
	}
	entry := map[string]any{"name": backend.Name, "weight": weight}
	if port := backend.portLike(weightOf(template["port"])); port != 0 {
		entry["port"] = port
	}
	return entry
}

// soleEntry makes entry the rule's only one, carrying everything: a VirtualService entry
// keeps a weight it had (100); a backendRef loses it, as Istio's samples write a lone backend.
func (a routeAPI) soleEntry(entry map[string]any) map[string]any {
	_, set := entry["weight"]
	switch {
	case a.gatewayAPI():
		delete(entry, "weight")
	case set:
		entry["weight"] = int64(100)
	}
	return entry
}

// isCatchAll reports whether a rule takes every request.
func (a routeAPI) isCatchAll(rule map[string]any) bool {
	if a.gatewayAPI() {
		return istio.RuleMatchesEverything(rule)
	}
	match, _ := rule[a.matches].([]any)
	return len(match) == 0
}

// weightOf reads a weight (or port) whether the JSON decoder produced an integer or a float.
func weightOf(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}
