package canary

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// The values of --api: which route to create when the service has none.
const (
	APIVirtualService = "virtualservice"
	APIHTTPRoute      = "httproute"
)

// findRoute finds the one route that carries the service's mesh traffic: a VirtualService
// whose hosts name it, or an HTTPRoute or GRPCRoute attached to it. Istio calls a
// VirtualService beside an HTTPRoute for one service undefined, and applies only one of
// several VirtualServices: those are errors for the user to resolve, not to guess at.
func (p *Plan) findRoute(in Input, req Request) (*unstructured.Unstructured, error) {
	var found []*unstructured.Unstructured
	for _, vs := range in.VirtualServices {
		if routesHost(vs, in.Service) && appliesToMesh(vs) {
			found = append(found, vs)
		}
	}
	for _, route := range in.Routes {
		if attached, misgrouped := attachedToService(route, in.Service); attached || misgrouped {
			found = append(found, route)
			if misgrouped {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s %s names Service %s as its parent with group %q, which the API server fills in when the group is left out: Istio attaches mesh routes to Services of group \"\" only, so the route (and any split on it) has no effect until its parentRef says group: \"\"",
					route.GetKind(), route.GetName(), in.Service.Name, istio.GatewayAPIGroup))
			}
		}
	}
	if len(found) > 1 {
		names := make([]string, len(found))
		for i, r := range found {
			names[i] = r.GetKind() + " " + r.GetName()
		}
		why := "Istio applies only one VirtualService per host"
		if kinds := kindsOf(found); len(kinds) > 1 || kinds[0] != virtualServiceAPI.Kind {
			why = "Istio calls more than one route for a service undefined (a VirtualService beside an HTTPRoute) or merges them"
		}
		return nil, fmt.Errorf("%s: several routes in namespace %s carry its mesh traffic (%s) and %s: keep one, then run this again",
			in.Service, in.Service.Namespace, strings.Join(names, ", "), why)
	}
	if len(found) == 0 {
		return nil, nil
	}
	route := found[0]
	if want := apiNamed(req.API); req.API != "" && want.gatewayAPI() != apiOf(route).gatewayAPI() {
		return nil, fmt.Errorf("%s: %s %s already routes it; --api %s would add a second route, which Istio calls undefined: drop --api, or move the routing to a %s first",
			in.Service, route.GetKind(), route.GetName(), req.API, want.Kind)
	}
	return route, nil
}

// attachedToService reports whether a Gateway API route attaches to svc for mesh traffic
// (parentRef of kind Service), or names it with the group the API server fills in when it is
// left out (misgrouped: what the user meant, though Istio does not attach it).
func attachedToService(route *unstructured.Unstructured, svc istio.Service) (attached, misgrouped bool) {
	names := func(refs []istio.Ref) bool {
		for _, ref := range refs {
			if ref.Namespace == svc.Namespace && ref.Name == svc.Name {
				return true
			}
		}
		return false
	}
	if names(istio.ParentServices(route)) {
		return true, false
	}
	return false, names(istio.MisgroupedServiceParents(route))
}

func kindsOf(objects []*unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var kinds []string
	for _, o := range objects {
		if !seen[o.GetKind()] {
			seen[o.GetKind()] = true
			kinds = append(kinds, o.GetKind())
		}
	}
	return kinds
}

func apiNamed(name string) routeAPI {
	if name == APIHTTPRoute {
		return httpRouteAPI
	}
	return virtualServiceAPI
}

// chooseAPI picks the API of a route to create, as a user would: --api when given; HTTPRoute
// in an ambient namespace (where it is Istio's recommended API) or where versions are
// Services and no DestinationRule defines subsets; a VirtualService where subsets exist.
func chooseAPI(in Input, req Request, subsets, services []Backend) routeAPI {
	switch {
	case req.API != "":
		return apiNamed(req.API)
	case istio.NamespaceIsAmbient(in.NamespaceLabels):
		return httpRouteAPI
	case len(subsets) == 0 && len(services) > 0:
		return httpRouteAPI
	}
	return virtualServiceAPI
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

// appliesToMesh reports whether vs routes traffic between sidecars.
func appliesToMesh(vs *unstructured.Unstructured) bool {
	_, mesh := istio.VirtualServiceGateways(vs)
	return mesh
}

// virtualServiceNearMisses explains the mesh VirtualServices whose hosts almost name svc.
func virtualServiceNearMisses(all []*unstructured.Unstructured, svc istio.Service) []string {
	var out []string
	for _, vs := range all {
		if !appliesToMesh(vs) {
			continue
		}
		hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
		for _, h := range hosts {
			if why := istio.HostNearMiss(h, vs.GetNamespace(), svc); why != "" {
				out = append(out, fmt.Sprintf("VirtualService %s has host %q: %s", vs.GetName(), h, why))
			}
		}
	}
	return out
}
