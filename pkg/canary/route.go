package canary

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// A VirtualService as the API server returned it; the helpers below read and change only
// spec.hosts, spec.gateways and spec.http[].route[].{destination,weight}.

// appliesToMesh reports whether vs routes traffic between sidecars.
func appliesToMesh(vs *unstructured.Unstructured) bool {
	_, mesh := istio.VirtualServiceGateways(vs)
	return mesh
}

// routesHost reports whether one of vs's hosts names svc.
func routesHost(vs *unstructured.Unstructured, svc istio.Service) bool {
	hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
	for _, h := range hosts {
		if istio.HostNamesService(h, vs.GetNamespace(), svc) {
			return true
		}
	}
	return false
}

// httpRoutes returns spec.http as maps that share storage with vs, so that changes to them
// change vs.
func httpRoutes(vs *unstructured.Unstructured) []map[string]any {
	spec, _ := vs.Object["spec"].(map[string]any)
	list, _ := spec["http"].([]any)
	routes := make([]map[string]any, 0, len(list))
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			routes = append(routes, m)
		}
	}
	return routes
}

// routeRef identifies one http route of a VirtualService for messages and the record.
type routeRef struct {
	index int
	name  string
}

// key is how the canary record refers to the route: its name, else its position.
func (r routeRef) key() string {
	if r.name != "" {
		return r.name
	}
	return fmt.Sprintf("#%d", r.index)
}

func (r routeRef) String() string {
	if r.name != "" {
		return fmt.Sprintf("route %q", r.name)
	}
	return fmt.Sprintf("route #%d", r.index)
}

func isCatchAll(route map[string]any) bool {
	match, _ := route["match"].([]any)
	return len(match) == 0
}

// describeRoute is one line about a route for the "which route?" message.
func describeRoute(ref routeRef, route map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  #%d", ref.index)
	if ref.name != "" {
		fmt.Fprintf(&b, " name=%s", ref.name)
	}
	if isCatchAll(route) {
		b.WriteString(" (catch-all)")
	} else {
		b.WriteString(" match: " + describeMatch(route["match"]))
	}
	var dests []string
	for _, d := range destinations(route) {
		dests = append(dests, d.String())
	}
	if len(dests) > 0 {
		b.WriteString(" -> " + strings.Join(dests, ", "))
	}
	return b.String()
}

// describeMatch summarises match conditions compactly: "uri prefix /api; headers end-user exact jason".
func describeMatch(match any) string {
	list, _ := match.([]any)
	var alternatives []string
	for _, m := range list {
		cond, _ := m.(map[string]any)
		var parts []string
		for _, field := range slices.Sorted(maps.Keys(cond)) {
			switch v := cond[field].(type) {
			case map[string]any:
				// uri: {prefix: /api}, or headers: {end-user: {exact: jason}}
				for _, k := range slices.Sorted(maps.Keys(v)) {
					if inner, ok := v[k].(map[string]any); ok {
						for _, op := range slices.Sorted(maps.Keys(inner)) {
							parts = append(parts, fmt.Sprintf("%s %s %s %v", field, k, op, inner[op]))
						}
					} else {
						parts = append(parts, fmt.Sprintf("%s %s %v", field, k, v[k]))
					}
				}
			default:
				parts = append(parts, fmt.Sprintf("%s %v", field, v))
			}
		}
		alternatives = append(alternatives, strings.Join(parts, "; "))
	}
	return strings.Join(alternatives, " OR ")
}

// destination is one entry of a route's weighted destinations.
type destination struct {
	entry  map[string]any // the route[] entry itself, shared with the object
	host   string
	subset string
	weight int64
}

func (d destination) String() string {
	target := d.host
	if d.subset != "" {
		target += "/" + d.subset
	}
	return fmt.Sprintf("%s %d%%", target, d.weight)
}

// destinations reads a route's destinations. A lone destination without a weight carries
// all the traffic, as in Istio.
func destinations(route map[string]any) []destination {
	list, _ := route["route"].([]any)
	out := make([]destination, 0, len(list))
	for _, e := range list {
		entry, ok := e.(map[string]any)
		if !ok {
			continue
		}
		d := destination{entry: entry}
		d.host, _, _ = unstructured.NestedString(entry, "destination", "host")
		d.subset, _, _ = unstructured.NestedString(entry, "destination", "subset")
		d.weight = weightOf(entry["weight"])
		out = append(out, d)
	}
	if len(out) == 1 {
		if _, set := out[0].entry["weight"]; !set {
			out[0].weight = 100
		}
	}
	return out
}

// weightOf reads a weight whether the JSON decoder produced an integer or a float.
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

// selectRoute picks the http route to change: --route by name (or #index), else the only
// route, else the catch-all route; otherwise the user must choose.
func selectRoute(vs *unstructured.Unstructured, svc istio.Service, want string) (routeRef, map[string]any, error) {
	routes := httpRoutes(vs)
	if len(routes) == 0 {
		return routeRef{}, nil, fmt.Errorf("%s: VirtualService %s has no http routes (tcp and tls routes are not supported)", svc, vs.GetName())
	}
	refs := make([]routeRef, len(routes))
	for i, r := range routes {
		name, _ := r["name"].(string)
		refs[i] = routeRef{index: i, name: name}
	}
	if want != "" {
		for i, ref := range refs {
			if ref.name == want {
				return ref, routes[i], nil
			}
		}
		for i, ref := range refs {
			if want == fmt.Sprintf("#%d", ref.index) || want == fmt.Sprint(ref.index) {
				return ref, routes[i], nil
			}
		}
		return routeRef{}, nil, fmt.Errorf("%s: VirtualService %s has no route %q; its routes:\n%s", svc, vs.GetName(), want, listRoutes(refs, routes))
	}
	if len(routes) == 1 {
		return refs[0], routes[0], nil
	}
	for i, r := range routes {
		if isCatchAll(r) {
			return refs[i], r, nil
		}
	}
	return routeRef{}, nil, fmt.Errorf("%s: VirtualService %s has %d http routes and none is a catch-all; pick one with --route NAME (or --route '#N'):\n%s",
		svc, vs.GetName(), len(routes), listRoutes(refs, routes))
}

func listRoutes(refs []routeRef, routes []map[string]any) string {
	lines := make([]string, len(routes))
	for i := range routes {
		lines[i] = describeRoute(refs[i], routes[i])
	}
	return strings.Join(lines, "\n")
}
