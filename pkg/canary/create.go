package canary

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// planNew creates a route for the service, named after it and labelled as ours: the first
// version is stable, the canary gets the request's share.
func (p *Plan) planNew(in Input, req Request) error {
	if len(p.Backends) == 0 {
		return p.noBackendsError()
	}
	existing := in.VirtualServices
	if p.API.gatewayAPI() {
		existing = in.Routes
	}
	for _, r := range existing {
		if r.GetName() == in.Service.Name && r.GetKind() == p.API.Kind {
			return fmt.Errorf("%s: %s %s/%s exists but does not route mesh traffic to %s, and a new one would take its name: route the service there or remove it",
				in.Service, r.GetKind(), r.GetNamespace(), r.GetName(), in.Service)
		}
	}
	p.Rule = p.API.RuleTerm + " #0"
	p.Stable = p.Backends[0].Name
	canary, err := p.chooseCanary(req.Canary, nil)
	if err != nil {
		return err
	}
	p.Canary = canary
	percent := int64(*req.Percent)
	p.After = []Weight{{p.Stable, 100 - percent}, {p.Canary, percent}}
	p.InProgress = true
	stable, _ := findBackend(p.Backends, p.Stable)
	canaryBackend, _ := findBackend(p.Backends, p.Canary)
	if canaryBackend.Name == "" {
		canaryBackend = Backend{Name: p.Canary} // missing: checkTargets refuses it unless --force
	}
	var route *unstructured.Unstructured
	if p.API.gatewayAPI() {
		route = newHTTPRoute(in, stable, canaryBackend, percent)
	} else {
		route = newVirtualService(in.Service, stable, canaryBackend, percent)
	}
	writeRecords(route, records{"#0": {Stable: p.Stable, Canary: p.Canary}})
	p.Route, p.Create, p.Changed = route, true, true
	return nil
}

func newVirtualService(svc istio.Service, stable, canary Backend, percent int64) *unstructured.Unstructured {
	template := map[string]any{"destination": map[string]any{"host": svc.Name}}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       "VirtualService",
		"metadata":   newMetadata(svc),
		"spec": map[string]any{
			"hosts": []any{svc.Name},
			"http": []any{map[string]any{"route": []any{
				virtualServiceAPI.newEntry(template, stable, 100-percent),
				virtualServiceAPI.newEntry(template, canary, percent),
			}}},
		},
	}}
}

// newHTTPRoute is an HTTPRoute attached to the service for mesh traffic, as Istio's
// traffic-shifting task writes one.
func newHTTPRoute(in Input, stable, canary Backend, percent int64) *unstructured.Unstructured {
	parent := map[string]any{"group": "", "kind": "Service", "name": in.Service.Name}
	var template map[string]any
	if len(in.ServicePorts) > 0 {
		parent["port"] = int64(in.ServicePorts[0])
		template = map[string]any{"port": int64(in.ServicePorts[0])}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1",
		"kind":       "HTTPRoute",
		"metadata":   newMetadata(in.Service),
		"spec": map[string]any{
			"parentRefs": []any{parent},
			"rules": []any{map[string]any{"backendRefs": []any{
				httpRouteAPI.newEntry(template, stable, 100-percent),
				httpRouteAPI.newEntry(template, canary, percent),
			}}},
		},
	}}
}

func newMetadata(svc istio.Service) map[string]any {
	return map[string]any{
		"name":      svc.Name,
		"namespace": svc.Namespace,
		"labels":    map[string]any{istio.ManagedByLabel: istio.ManagedByValue},
	}
}

// noBackendsError says that the service has no versions to shift between, in the terms of the
// route's API.
func (p *Plan) noBackendsError() error {
	switch {
	case p.API.gatewayAPI():
		return fmt.Errorf("%s: no version Services in namespace %s (a Service per version whose selector adds a version label to %s's, as %s-v1, %s-v2): create them first",
			p.Service, p.Service.Namespace, p.Service, p.Service, p.Service)
	case len(p.DestinationRules) == 0:
		return fmt.Errorf("%s: no DestinationRule in namespace %s defines subsets for host %s%s, and no version Services exist: create either, one per version, first",
			p.Service, p.Service.Namespace, p.Service, p.nearMissNote())
	}
	return fmt.Errorf("%s: %s defines no subsets: add one per version first", p.Service, p.versionsSource())
}

func joinAll(parts []string) string { return strings.Join(parts, "; ") }
