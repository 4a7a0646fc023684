package lockdown

import (
	"fmt"
	"strings"

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
	via := fmt.Sprintf("VirtualService %s/%s", vs.GetNamespace(), vs.GetName())
	for _, ref := range gateways {
		gw := findObject(in.Gateways, ref)
		if gw == nil {
			ing.warnings = append(ing.warnings, fmt.Sprintf("%s is bound to gateway %s, which does not exist: no gateway identity to allow", via, ref))
			continue
		}
		selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
		found, others := ing.gatewayCallers(selector, "", in.GatewayPods, fmt.Sprintf("ingress gateway %s, routed by %s", ref, via), "gateway "+ref)
		if len(found) == 0 && !others {
			ing.warnings = append(ing.warnings, fmt.Sprintf("gateway %s selects no gateway pods: no gateway identity to allow", ref))
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
	via := fmt.Sprintf("%s %s/%s", route.GetKind(), route.GetNamespace(), route.GetName())
	services := ing.routedServices(in, route, via)
	if len(services) == 0 {
		return
	}
	var callers []Caller
	for _, parent := range parents {
		ref := parent.Namespace + "/" + parent.Name
		gw := findObject(in.K8sGateways, ref)
		if gw == nil {
			ing.warnings = append(ing.warnings, fmt.Sprintf("%s is attached to Gateway %s, which does not exist: no gateway identity to allow", via, ref))
			continue
		}
		if istio.GatewayClass(gw) == istio.GatewayClassWaypoint {
			continue // a waypoint carries mesh traffic, not ingress
		}
		var routeNamespaceLabels map[string]string
		if route.GetNamespace() == in.Namespace {
			routeNamespaceLabels = in.NamespaceLabels
		}
		if !istio.RouteAllowedByGateway(gw, parent.SectionName, route.GetNamespace(), routeNamespaceLabels) {
			ing.warnings = append(ing.warnings, fmt.Sprintf("%s is attached to Gateway %s, whose listeners do not admit routes from namespace %s (allowedRoutes): Istio does not program it, and its gateway is not allowed for it", via, ref, route.GetNamespace()))
			continue
		}
		selector := map[string]string{istio.GatewayNameLabel: parent.Name}
		found, others := ing.gatewayCallers(selector, parent.Namespace, in.GatewayPods, fmt.Sprintf("gateway %s, routed by %s", ref, via), "Gateway "+ref)
		if len(found) == 0 && !others {
			ing.warnings = append(ing.warnings, fmt.Sprintf("Gateway %s has no pods (Istio deploys them as %s): no gateway identity to allow", ref, istio.GatewayDeploymentName(gw)))
		}
		callers = append(callers, found...)
	}
	ing.allow(workloads, services, callers)
}

// routedServices are the Services of the namespace that route sends to and that Istio would
// route it to: a route of another namespace needs a ReferenceGrant here.
func (ing *ingress) routedServices(in Input, route *unstructured.Unstructured, via string) []corev1.Service {
	var services []corev1.Service
	for _, ref := range istio.BackendServices(route) {
		if ref.Namespace != in.Namespace {
			continue
		}
		if route.GetNamespace() != in.Namespace && !istio.ReferenceGranted(in.ReferenceGrants, route.GetKind(), route.GetNamespace(), ref.Name) {
			ing.warnings = append(ing.warnings, fmt.Sprintf("%s sends to Service %s/%s with no ReferenceGrant in %s allowing it: Istio does not route it, and its gateway is not allowed for it", via, in.Namespace, ref.Name, in.Namespace))
			continue
		}
		for _, svc := range in.Services {
			if svc.Name == ref.Name {
				services = append(services, svc)
			}
		}
	}
	return services
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

// gatewayCallers are the identities of the running gateway pods selector picks, in
// namespace (any, for ""), as Istio's Gateway selectors pick pods in any namespace by
// default. Pods it picks that do not run as gateways (an app beside a sidecar) are said and
// never allowed (others is true then): another namespace's Gateway must not decide who calls
// this one.
func (ing *ingress) gatewayCallers(selector map[string]string, namespace string, pods []corev1.Pod, reason, gateway string) (callers []Caller, others bool) {
	callers, ignored := podCallers(selector, namespace, pods, reason)
	if len(ignored) > 0 {
		ing.warnings = append(ing.warnings, fmt.Sprintf("%s selects pods that do not run as gateways (%s): their identities are not allowed", gateway, strings.Join(ignored, ", ")))
	}
	return callers, len(ignored) > 0
}

// podCallers are the identities of the running gateway pods selector picks, in namespace
// (any, for ""), and the pods it picks that are not gateways.
func podCallers(selector map[string]string, namespace string, pods []corev1.Pod, reason string) (callers []Caller, ignored []string) {
	if len(selector) == 0 {
		return nil, nil
	}
	for _, pod := range pods {
		if isFinished(pod) || (namespace != "" && pod.Namespace != namespace) || !istio.SelectorMatches(selector, pod.Labels) {
			continue
		}
		if !istio.IsGatewayPod(&pod) && !istio.IsWaypointPod(&pod) {
			ignored = append(ignored, pod.Namespace+"/"+pod.Name)
			continue
		}
		callers = appendCallers(callers, Caller{Namespace: pod.Namespace, ServiceAccount: serviceAccountOf(&pod), Reason: reason})
	}
	return callers, ignored
}

func serviceAccountOf(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}

// gatewayWorkloads are the workloads of the namespace that are themselves gateways: their
// pods run as gateway proxies, for an Istio Gateway that selects them or a Gateway API
// Gateway (not a waypoint) that exists. A label or a selector alone makes no gateway.
// Default deny would cut every outside client off them.
func gatewayWorkloads(workloads []*Workload, in Input) (map[string]bool, []string) {
	out := map[string]bool{}
	var warnings []string
	for _, w := range workloads {
		pods := podsNamed(in, w.Pods)
		router := len(pods) > 0
		for _, pod := range pods {
			router = router && istio.IsGatewayPod(pod)
		}
		var selectedBy []string
		for _, gw := range in.Gateways {
			selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
			if len(selector) > 0 && istio.SelectorMatches(selector, w.labels) {
				selectedBy = append(selectedBy, "gateway "+gw.GetNamespace()+"/"+gw.GetName())
			}
		}
		if name := w.labels[istio.GatewayNameLabel]; name != "" {
			if gw := findObject(in.K8sGateways, in.Namespace+"/"+name); gw != nil && !istio.IsWaypoint(gw) {
				selectedBy = append(selectedBy, "Gateway "+in.Namespace+"/"+name)
			}
		}
		switch {
		case router && len(selectedBy) > 0:
			out[w.Name] = true
		case len(selectedBy) > 0:
			warnings = append(warnings, fmt.Sprintf("%s names workload %s, whose pods do not run as gateways: it is not treated as one (default deny applies to it)", strings.Join(selectedBy, ", "), w.Name))
		}
	}
	return out, warnings
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
