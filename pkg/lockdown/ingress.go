package lockdown

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// ingress is, for each workload of the namespace that a gateway routes to, the gateway pods'
// identities, which must keep reaching it.
type ingress struct {
	callers  map[string][]Caller // workload name -> gateway callers
	warnings []string
}

// findIngress follows both ways traffic enters through a gateway: Istio Gateways with the
// VirtualServices bound to them (and the VirtualServices those delegate to), and Gateway API
// Gateways with the routes attached to them.
func findIngress(in Input, workloads []*Workload) ingress {
	result := ingress{callers: map[string][]Caller{}}
	for _, vs := range in.VirtualServices {
		result.addVirtualService(in, workloads, vs)
	}
	for _, route := range in.Routes {
		result.addRoute(in, workloads, route)
	}
	return result
}

// addVirtualService allows the pods of the Istio Gateways vs is bound to, on the workloads its
// routes (and delegates) reach.
func (ing *ingress) addVirtualService(in Input, workloads []*Workload, vs *unstructured.Unstructured) {
	gateways, _ := istio.VirtualServiceGateways(vs)
	if len(gateways) == 0 {
		return
	}
	hosts, missing := istio.RoutedHosts(vs, in.VirtualServices)
	for _, ref := range missing {
		ing.warnings = append(ing.warnings, fmt.Sprintf("VirtualService %s/%s delegates to VirtualService %s, which does not exist as a delegate (one without hosts): its destinations are not known", vs.GetNamespace(), vs.GetName(), ref))
	}
	services := servicesNamedBy(hosts, in.Services)
	if len(services) == 0 {
		return
	}
	var callers []Caller
	for _, ref := range gateways {
		gw := findObject(in.Gateways, ref)
		if gw == nil {
			ing.warnings = append(ing.warnings, fmt.Sprintf("VirtualService %s/%s is bound to gateway %s, which does not exist: no gateway identity to allow", vs.GetNamespace(), vs.GetName(), ref))
			continue
		}
		selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
		found := podCallers(selector, "", in.GatewayPods, "ingress gateway "+ref)
		if len(found) == 0 {
			ing.warnings = append(ing.warnings, fmt.Sprintf("gateway %s selects no pods: no gateway identity to allow", ref))
		}
		callers = append(callers, found...)
	}
	ing.allow(workloads, services, callers)
}

// addRoute allows the pods Istio deploys for the Gateway API Gateways route attaches to, on
// the workloads of the Services it sends to.
func (ing *ingress) addRoute(in Input, workloads []*Workload, route *unstructured.Unstructured) {
	parents := istio.ParentGateways(route)
	if len(parents) == 0 {
		return
	}
	var services []corev1.Service
	for _, ref := range istio.BackendServices(route) {
		if ref.Namespace != in.Namespace {
			continue
		}
		for _, svc := range in.Services {
			if svc.Name == ref.Name {
				services = append(services, svc)
			}
		}
	}
	if len(services) == 0 {
		return
	}
	var callers []Caller
	for _, parent := range parents {
		ref := parent.Namespace + "/" + parent.Name
		gw := findObject(in.K8sGateways, ref)
		if gw == nil {
			ing.warnings = append(ing.warnings, fmt.Sprintf("%s %s/%s is attached to Gateway %s, which does not exist: no gateway identity to allow", route.GetKind(), route.GetNamespace(), route.GetName(), ref))
			continue
		}
		if istio.GatewayClass(gw) == istio.GatewayClassWaypoint {
			continue // a waypoint carries mesh traffic, not ingress
		}
		selector := map[string]string{istio.GatewayNameLabel: parent.Name}
		found := podCallers(selector, parent.Namespace, in.GatewayPods, "gateway "+ref)
		if len(found) == 0 {
			ing.warnings = append(ing.warnings, fmt.Sprintf("Gateway %s has no pods (Istio deploys them as %s): no gateway identity to allow", ref, istio.GatewayDeploymentName(gw)))
		}
		callers = append(callers, found...)
	}
	ing.allow(workloads, services, callers)
}

// allow adds callers to every workload one of services selects.
func (ing *ingress) allow(workloads []*Workload, services []corev1.Service, callers []Caller) {
	for _, w := range workloads {
		for _, svc := range services {
			if len(svc.Spec.Selector) > 0 && istio.SelectorMatches(svc.Spec.Selector, w.labels) {
				ing.callers[w.Name] = appendCallers(ing.callers[w.Name], callers...)
			}
		}
	}
}

// servicesNamedBy are the services (of one namespace) that hosts name, as Istio reads hosts.
func servicesNamedBy(hosts []istio.ScopedHost, services []corev1.Service) []corev1.Service {
	var out []corev1.Service
	for _, svc := range services {
		ref := istio.Service{Name: svc.Name, Namespace: svc.Namespace}
		for _, h := range hosts {
			if istio.HostNamesService(h.Host, h.Namespace, ref) {
				out = append(out, svc)
				break
			}
		}
	}
	return out
}

func findObject(objects []*unstructured.Unstructured, ref string) *unstructured.Unstructured {
	for _, o := range objects {
		if o.GetNamespace()+"/"+o.GetName() == ref {
			return o
		}
	}
	return nil
}

// podCallers are the identities of the running pods selector picks, in namespace (any, for
// ""), as Istio's Gateway selectors pick pods in any namespace by default.
func podCallers(selector map[string]string, namespace string, pods []corev1.Pod, reason string) []Caller {
	if len(selector) == 0 {
		return nil
	}
	var callers []Caller
	for _, pod := range pods {
		if isFinished(pod) || (namespace != "" && pod.Namespace != namespace) || !istio.SelectorMatches(selector, pod.Labels) {
			continue
		}
		callers = appendCallers(callers, Caller{Namespace: pod.Namespace, ServiceAccount: serviceAccountOf(&pod), Reason: reason})
	}
	return callers
}

func serviceAccountOf(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}

// gatewayWorkloads are the workloads of the namespace that are themselves gateways: an Istio
// Gateway selects their pods, or Istio deployed them for a Gateway API Gateway (not a
// waypoint). Default deny would cut every outside client off them.
func gatewayWorkloads(workloads []*Workload, in Input) map[string]bool {
	out := map[string]bool{}
	for _, w := range workloads {
		for _, gw := range in.Gateways {
			selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
			if len(selector) > 0 && istio.SelectorMatches(selector, w.labels) {
				out[w.Name] = true
			}
		}
		if name := w.labels[istio.GatewayNameLabel]; name != "" {
			gw := findObject(in.K8sGateways, in.Namespace+"/"+name)
			out[w.Name] = out[w.Name] || gw == nil || istio.GatewayClass(gw) != istio.GatewayClassWaypoint
		}
	}
	return out
}

// decisionSelectors are the selectors whose answer decides something for a pod: the
// namespace's Services, the Istio Gateways, the Gateway API gateway deployments, and the
// PeerAuthentications and AuthorizationPolicies (but lockdown's own) that can apply to it.
// Pods of one app and version that these answer differently are different workloads.
func decisionSelectors(in Input) []map[string]string {
	var out []map[string]string
	for _, svc := range in.Services {
		out = append(out, svc.Spec.Selector)
	}
	for _, gw := range in.Gateways {
		selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
		out = append(out, selector)
	}
	for _, gw := range in.K8sGateways {
		if gw.GetNamespace() == in.Namespace {
			out = append(out, map[string]string{istio.GatewayNameLabel: gw.GetName()})
		}
	}
	for _, pa := range in.PeerAuthentications {
		out = append(out, istio.WorkloadSelector(pa))
	}
	for _, ap := range append(append([]*unstructured.Unstructured{}, in.AuthorizationPolicies...), in.MeshAuthorizationPolicies...) {
		if !isOurs(ap) {
			out = append(out, istio.WorkloadSelector(ap))
		}
	}
	return out
}
