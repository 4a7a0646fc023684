package istio

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// MeshGateway is the reserved gateway name that binds a VirtualService to the sidecars.
const MeshGateway = "mesh"

// VirtualServiceGateways reads spec.gateways: the Gateways the VirtualService is bound to, as
// namespace/name (a bare name is in the VirtualService's namespace), and whether it applies to
// mesh traffic (no gateways at all, or the reserved "mesh" among them).
func VirtualServiceGateways(vs *unstructured.Unstructured) (gateways []string, mesh bool) {
	names, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "gateways")
	mesh = len(names) == 0
	for _, n := range names {
		switch {
		case n == MeshGateway:
			mesh = true
		case strings.Contains(n, "/"):
			gateways = append(gateways, n)
		default:
			gateways = append(gateways, vs.GetNamespace()+"/"+n)
		}
	}
	return gateways, mesh
}

// ScopedHost is a destination host and the namespace Istio resolves it in (the namespace of
// the VirtualService that names it).
type ScopedHost struct {
	Host, Namespace string
}

// RoutedHosts are the destination hosts of vs's http, tcp and tls routes. An http route that
// delegates to another VirtualService (spec.http[].delegate, one level, as Istio allows) sends
// to that VirtualService's destinations, resolved in its own namespace; all holds the
// VirtualServices to look delegates up in. Delegates that are missing, or are not delegates
// (a delegate has no hosts), are returned apart, as namespace/name.
func RoutedHosts(vs *unstructured.Unstructured, all []*unstructured.Unstructured) (hosts []ScopedHost, missing []string) {
	hosts = destinationHosts(vs)
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	for _, r := range routes {
		name, _, _ := unstructured.NestedString(asMap(r), "delegate", "name")
		if name == "" {
			continue
		}
		namespace, _, _ := unstructured.NestedString(asMap(r), "delegate", "namespace")
		if namespace == "" {
			namespace = vs.GetNamespace()
		}
		delegate := findDelegate(all, namespace, name)
		if delegate == nil {
			missing = append(missing, namespace+"/"+name)
			continue
		}
		hosts = append(hosts, destinationHosts(delegate)...)
	}
	return hosts, missing
}

func findDelegate(all []*unstructured.Unstructured, namespace, name string) *unstructured.Unstructured {
	for _, vs := range all {
		if vs.GetNamespace() != namespace || vs.GetName() != name {
			continue
		}
		if hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts"); len(hosts) > 0 {
			return nil // Istio looks delegates up among VirtualServices without hosts
		}
		return vs
	}
	return nil
}

// destinationHosts are the hosts of vs's own route destinations.
func destinationHosts(vs *unstructured.Unstructured) []ScopedHost {
	var hosts []ScopedHost
	for _, kind := range []string{"http", "tcp", "tls"} {
		routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", kind)
		for _, r := range routes {
			entries, _ := asMap(r)["route"].([]any)
			for _, e := range entries {
				if h, _, _ := unstructured.NestedString(asMap(e), "destination", "host"); h != "" {
					hosts = append(hosts, ScopedHost{Host: h, Namespace: vs.GetNamespace()})
				}
			}
		}
	}
	return hosts
}
