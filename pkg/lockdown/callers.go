package lockdown

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Caller is a source an ALLOW policy admits: one service account (a principal, which needs
// mTLS) or every workload of a namespace.
type Caller struct {
	Namespace      string
	ServiceAccount string // empty: the whole namespace
	// Why it is allowed, for people: "--allow-from", "ingress gateway istio-system/bookinfo-gateway".
	Reason string
}

// Principal is the caller's SPIFFE identity as AuthorizationPolicies write it, without spiffe://.
func (c Caller) Principal(mesh istio.MeshConfig) string {
	return mesh.Principal(c.Namespace, c.ServiceAccount)
}

func (c Caller) String() string {
	if c.ServiceAccount == "" {
		return "namespace " + c.Namespace
	}
	return c.Namespace + "/" + c.ServiceAccount
}

// ParseAllowFrom reads --allow-from: "ns/NAMESPACE" for a namespace, "NAMESPACE/SERVICEACCOUNT"
// for one service account.
func ParseAllowFrom(arg string) (Caller, error) {
	first, second, ok := strings.Cut(arg, "/")
	if !ok || strings.Contains(second, "/") || first == "" || second == "" {
		return Caller{}, fmt.Errorf("--allow-from %q: write ns/NAMESPACE for a namespace or NAMESPACE/SERVICEACCOUNT for one service account", arg)
	}
	c := Caller{Namespace: first, ServiceAccount: second, Reason: "--allow-from"}
	if first == "ns" {
		c = Caller{Namespace: second, Reason: "--allow-from"}
	}
	for _, name := range []string{c.Namespace, c.ServiceAccount} {
		if name == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return Caller{}, fmt.Errorf("--allow-from %q: %q is not a valid name: %s", arg, name, strings.Join(errs, "; "))
		}
	}
	return c, nil
}

// ingress finds, for each workload of the namespace that a Gateway-bound VirtualService routes
// to, the gateway pods' identities, which must keep reaching it.
type ingress struct {
	callers  map[string][]Caller // workload name -> gateway callers
	warnings []string
}

func findIngress(in Input, workloads []*Workload) ingress {
	result := ingress{callers: map[string][]Caller{}}
	for _, vs := range in.VirtualServices {
		gateways := gatewayRefs(vs)
		if len(gateways) == 0 {
			continue
		}
		services := routedServices(vs, in.Namespace, in.Services)
		if len(services) == 0 {
			continue
		}
		var callers []Caller
		for _, ref := range gateways {
			gw := findGateway(in.Gateways, ref)
			if gw == nil {
				result.warnings = append(result.warnings, fmt.Sprintf("VirtualService %s/%s is bound to gateway %s, which does not exist: no gateway identity to allow", vs.GetNamespace(), vs.GetName(), ref))
				continue
			}
			found := gatewayCallers(gw, in.GatewayPods)
			if len(found) == 0 {
				result.warnings = append(result.warnings, fmt.Sprintf("gateway %s selects no pods: no gateway identity to allow", ref))
			}
			callers = append(callers, found...)
		}
		for _, w := range workloads {
			for _, svc := range services {
				if len(svc.Spec.Selector) > 0 && istio.SelectorMatches(svc.Spec.Selector, w.labels) {
					result.callers[w.Name] = appendCallers(result.callers[w.Name], callers...)
				}
			}
		}
	}
	return result
}

// gatewayRefs are the gateways vs is bound to, as namespace/name; "mesh" is not one.
func gatewayRefs(vs *unstructured.Unstructured) []string {
	names, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "gateways")
	var refs []string
	for _, n := range names {
		switch {
		case n == "mesh":
		case strings.Contains(n, "/"):
			refs = append(refs, n)
		default:
			refs = append(refs, vs.GetNamespace()+"/"+n)
		}
	}
	return refs
}

// routedServices are the services of namespace that vs's http, tcp and tls routes send to.
func routedServices(vs *unstructured.Unstructured, namespace string, services []corev1.Service) []corev1.Service {
	var hosts []string
	for _, kind := range []string{"http", "tcp", "tls"} {
		routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", kind)
		for _, r := range routes {
			route, _ := r.(map[string]any)
			entries, _ := route["route"].([]any)
			for _, e := range entries {
				entry, _ := e.(map[string]any)
				if h, _, _ := unstructured.NestedString(entry, "destination", "host"); h != "" {
					hosts = append(hosts, h)
				}
			}
		}
	}
	var out []corev1.Service
	for _, svc := range services {
		ref := istio.Service{Name: svc.Name, Namespace: namespace}
		for _, h := range hosts {
			if istio.HostNamesService(h, vs.GetNamespace(), ref) {
				out = append(out, svc)
				break
			}
		}
	}
	return out
}

func findGateway(gateways []*unstructured.Unstructured, ref string) *unstructured.Unstructured {
	for _, gw := range gateways {
		if gw.GetNamespace()+"/"+gw.GetName() == ref {
			return gw
		}
	}
	return nil
}

// gatewayCallers are the identities of the pods gw's selector picks (in any namespace, as
// Istio does by default).
func gatewayCallers(gw *unstructured.Unstructured, pods []corev1.Pod) []Caller {
	selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
	if len(selector) == 0 {
		return nil
	}
	var callers []Caller
	for _, pod := range pods {
		if isFinished(pod) || !istio.SelectorMatches(selector, pod.Labels) {
			continue
		}
		sa := pod.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		callers = appendCallers(callers, Caller{Namespace: pod.Namespace, ServiceAccount: sa,
			Reason: fmt.Sprintf("ingress gateway %s/%s", gw.GetNamespace(), gw.GetName())})
	}
	return callers
}

// appendCallers adds callers not yet in list (same namespace and service account).
func appendCallers(list []Caller, callers ...Caller) []Caller {
	for _, c := range callers {
		dup := false
		for _, have := range list {
			dup = dup || (have.Namespace == c.Namespace && have.ServiceAccount == c.ServiceAccount)
		}
		if !dup {
			list = append(list, c)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].String() < list[j].String() })
	return list
}

// gatewayWorkloads are the workloads of the namespace that are themselves gateways: a Gateway
// selects their pods. Default deny would cut every outside client off them.
func gatewayWorkloads(workloads []*Workload, gateways []*unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	for _, gw := range gateways {
		selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
		if len(selector) == 0 {
			continue
		}
		for _, w := range workloads {
			if istio.SelectorMatches(selector, w.labels) {
				out[w.Name] = true
			}
		}
	}
	return out
}
