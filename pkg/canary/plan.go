// Package canary plans traffic shifts between the subsets of one service on its
// VirtualService. Planning is pure: cluster objects in, the object to write and a summary out.
//
// VirtualServices are handled as unstructured objects on purpose: the plan changes route
// weights and nothing else, so every field we do not model (including fields newer than our
// Istio client) is written back exactly as it was read.
package canary

import (
	"fmt"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Request is what the user asked for. With no Percent, Promote or Rollback it is a status query.
type Request struct {
	Percent  *int   // share of traffic for the canary, 0-100
	Promote  bool   // canary gets 100 and becomes stable
	Rollback bool   // stable gets 100, the canary is dropped
	Canary   string // --canary: the subset to send traffic to
	Route    string // --route: the http route's name (or #index) when there are several
	Force    bool   // send traffic to subsets that are missing or have no ready pods
}

func (r Request) changesWeights() bool { return r.Percent != nil || r.Promote || r.Rollback }

// Input is the cluster state a plan is made from, all from the service's namespace.
type Input struct {
	Service          istio.Service
	ServiceSelector  map[string]string
	VirtualServices  []*unstructured.Unstructured
	DestinationRules []*networkingv1.DestinationRule
	Pods             []corev1.Pod
}

// Plan is the outcome: the VirtualService to write, and what changes, for people.
type Plan struct {
	Service istio.Service
	// VirtualService is the object to write (Create: new), or for a status the current one.
	// Nil when no VirtualService routes the service and none is to be written.
	VirtualService *unstructured.Unstructured
	Create         bool
	Changed        bool

	// current is the VirtualService as read, the Before of the write; nil when created.
	current *unstructured.Unstructured
	// nearMisses explain objects whose host almost names the service, for errors.
	nearMisses []string

	Route string // the route, for people: `route "default"`, `route #0`
	// DestinationRules are the rules the subsets come from, oldest first (Istio merges them).
	DestinationRules []string
	Stable, Canary   string
	InProgress       bool     // a canary record exists for the route (after the change)
	Before, After    []Weight // the route's weights; Before is nil when there was no VirtualService
	Subsets          []Subset // the DestinationRules' subsets, in their order, with their pods
	Warnings         []string // what --force let through
	action           string
}

// Compute plans req against the cluster state in. It never changes in.
func Compute(in Input, req Request) (*Plan, error) {
	p := &Plan{Service: in.Service, action: "set"}
	switch {
	case req.Promote:
		p.action = "promote"
	case req.Rollback:
		p.action = "rollback"
	}
	rules := istio.MergeDestinationRules(in.DestinationRules, in.Service)
	p.DestinationRules, p.nearMisses = rules.Names, rules.NearMisses
	p.Subsets = subsetsOf(rules.Subsets, in.ServiceSelector, in.Pods)
	p.Warnings = append(p.Warnings, rules.Shadowed...)
	current, err := virtualServiceFor(in.VirtualServices, in.Service)
	if err != nil {
		return nil, err
	}
	if current == nil {
		misses := virtualServiceNearMisses(in.VirtualServices, in.Service)
		switch {
		case !req.changesWeights():
			p.Warnings = append(p.Warnings, misses...)
			return p, nil
		case req.Promote || req.Rollback:
			return nil, fmt.Errorf("%s: no canary in progress: no VirtualService in namespace %s routes it", in.Service, in.Service.Namespace)
		case len(misses) > 0:
			// A second VirtualService beside the one meant would leave the two to disagree.
			return nil, fmt.Errorf("%s: no VirtualService routes it, but %s: fix its hosts first", in.Service, strings.Join(misses, "; "))
		}
		if err := p.planNew(in, req); err != nil {
			return nil, err
		}
	} else if err := p.planExisting(current, req); err != nil {
		return nil, err
	}
	p.current = current
	if err := p.checkTargets(req.Force); err != nil {
		return nil, err
	}
	return p, nil
}

// Changes are the writes the plan needs: none, or the VirtualService to create or update.
func (p *Plan) Changes() []change.Change {
	if !p.Changed {
		return nil
	}
	detail := "route weights " + FormatWeights(p.After)
	return []change.Change{{Before: p.current, After: p.VirtualService, Detail: detail}}
}

// virtualServiceFor finds the VirtualService routing svc for mesh traffic. Istio applies only
// one per host to sidecars, so several are an error for the user to resolve, not to guess at.
func virtualServiceFor(all []*unstructured.Unstructured, svc istio.Service) (*unstructured.Unstructured, error) {
	var found []*unstructured.Unstructured
	for _, vs := range all {
		if routesHost(vs, svc) && appliesToMesh(vs) {
			found = append(found, vs)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, vs := range found {
		names[i] = vs.GetName()
	}
	return nil, fmt.Errorf("%s: several VirtualServices in namespace %s route it for mesh traffic (%s) and Istio applies only one: merge them first",
		svc, svc.Namespace, strings.Join(names, ", "))
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

// planNew creates a VirtualService: the first subset of the DestinationRule is stable.
func (p *Plan) planNew(in Input, req Request) error {
	if len(p.Subsets) == 0 {
		return p.noSubsetsError()
	}
	for _, vs := range in.VirtualServices {
		if vs.GetName() == in.Service.Name {
			return fmt.Errorf("%s: VirtualService %s/%s exists but does not route mesh traffic to %s, and a new one would take its name: route the host there or remove it",
				in.Service, vs.GetNamespace(), vs.GetName(), in.Service)
		}
	}
	p.Route = "route #0"
	p.Stable = p.Subsets[0].Name
	canary, err := p.chooseCanary(req.Canary, nil)
	if err != nil {
		return err
	}
	p.Canary = canary
	percent := int64(*req.Percent)
	p.After = []Weight{{p.Stable, 100 - percent}, {p.Canary, percent}}
	p.InProgress = true

	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       "VirtualService",
		"metadata": map[string]any{
			"name":      in.Service.Name,
			"namespace": in.Service.Namespace,
			"labels":    map[string]any{istio.ManagedByLabel: istio.ManagedByValue},
		},
		"spec": map[string]any{
			"hosts": []any{in.Service.Name},
			"http": []any{map[string]any{"route": []any{
				newEntry(map[string]any{"host": in.Service.Name}, p.Stable, 100-percent),
				newEntry(map[string]any{"host": in.Service.Name}, p.Canary, percent),
			}}},
		},
	}}
	writeRecords(vs, records{"#0": {Stable: p.Stable, Canary: p.Canary}})
	p.VirtualService, p.Create, p.Changed = vs, true, true
	return nil
}
