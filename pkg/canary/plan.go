// Package canary plans traffic shifts between the versions of one service on the route that
// carries its mesh traffic: a VirtualService (versions are subsets of its DestinationRules) or
// a Gateway API HTTPRoute or GRPCRoute (versions are Services of their own, as Istio's
// bookinfo-versions.yaml lays them out). Planning is pure: cluster objects in, the route to
// write and a summary out.
//
// Routes are handled as unstructured objects on purpose: the plan changes weights and nothing
// else, so every field we do not model (including fields newer than our clients) is written
// back exactly as it was read.
package canary

import (
	"fmt"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/owners"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Request is what the user asked for. With no Percent, Promote or Rollback it is a status query.
type Request struct {
	Percent  *int   // share of traffic for the canary, 0-100
	Promote  bool   // canary gets 100 and becomes stable
	Rollback bool   // stable gets 100, the canary is dropped
	Canary   string // --canary: the version to send traffic to (subset, Service, or version label)
	Route    string // --route: the rule's name (or #index) when there are several
	Force    bool   // send traffic to versions that are missing or have nothing ready
	API      string // --api: the kind of route to create when there is none ("" chooses)
}

func (r Request) changesWeights() bool { return r.Percent != nil || r.Promote || r.Rollback }

// Input is the cluster state a plan is made from, all from the service's namespace.
type Input struct {
	Service         istio.Service
	ServiceSelector map[string]string
	ServiceLabels   map[string]string
	ServicePorts    []int32
	NamespaceLabels map[string]string
	VirtualServices []*unstructured.Unstructured
	// Routes are the namespace's HTTPRoutes and GRPCRoutes.
	Routes           []*unstructured.Unstructured
	DestinationRules []*networkingv1.DestinationRule
	Pods             []corev1.Pod // the service's
	Services         []corev1.Service
	EndpointSlices   []discoveryv1.EndpointSlice
	// EndpointsUnreadable is true when the user may not list EndpointSlices: what is ready
	// behind a version Service is then unknown.
	EndpointsUnreadable bool
	// Waypoints are the Gateway API Gateways of the namespace of the waypoint the service
	// uses, if any (ambient mode); GatewayClasses the waypoints' class, when it exists: its
	// istio.io/waypoint-for label says what they carry, unless a waypoint says.
	Waypoints      []*unstructured.Unstructured
	GatewayClasses []*unstructured.Unstructured
	// Rollouts are the namespace's Argo Rollouts (none when that API is not served): one
	// whose traffic routing names the route drives its weights.
	Rollouts []*unstructured.Unstructured
}

// Plan is the outcome: the route to write, and what changes, for people.
type Plan struct {
	Service istio.Service
	// API is the kind of route: the one that exists, or the one to create.
	API routeAPI
	// Route is the object to write (Create: new), or for a status the current one. Nil when
	// no route carries the service's traffic and none is to be written.
	Route   *unstructured.Unstructured
	Create  bool
	Changed bool

	// current is the route as read, the Before of the write; nil when created.
	current *unstructured.Unstructured
	// nearMisses explain objects whose host almost names the service, for errors.
	nearMisses []string
	// reported are, per backend, the versions its requests are reported under
	// (destination_version) by the figures' reporter: see FigureVersion.
	reported map[string][]string

	Rule string // the rule, for people: `route "default"`, `rule #0`
	// DestinationRules are the rules the subsets come from, oldest first (Istio merges them).
	DestinationRules []string
	Stable, Canary   string
	InProgress       bool      // a canary record exists for the rule (after the change)
	Before, After    []Weight  // the rule's shares; Before is nil when there was no route
	Backends         []Backend // the versions, in their order, with what serves them
	Warnings         []string  // what --force let through, and what to know
	// Waypoint is the waypoint that carries the service's traffic in ambient mode, as
	// namespace/name; "" when none does.
	Waypoint string
	action   string
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
	current, err := p.findRoute(in, req)
	if err != nil {
		return nil, err
	}
	p.chooseBackends(in, req, current)
	if req.Canary != "" {
		if b, ok := findBackend(p.Backends, req.Canary); ok {
			req.Canary = b.Name // --canary v3 names reviews-v3
		}
	}
	if current == nil {
		err = p.planWithoutRoute(in, req)
	} else {
		err = p.planExisting(current, req)
	}
	if err != nil {
		return nil, err
	}
	p.current = current
	if err := p.checkTargets(req.Force); err != nil {
		return nil, err
	}
	if err := p.checkDataPlane(in, req); err != nil {
		return nil, err
	}
	p.nameReported(in)
	if err := p.checkOwner(in, req.Force); err != nil {
		return nil, err
	}
	return p, nil
}

// checkOwner refuses to change a route another writer holds: a rollout controller always
// (it would undo the change at once), a GitOps sync unless forced (it would undo it later,
// which the plan then says).
func (p *Plan) checkOwner(in Input, force bool) error {
	if !p.Changed || p.current == nil {
		return nil
	}
	owner := owners.Of(p.current, in.Rollouts)
	if err := owners.Refusal(p.current, owner, force); err != nil {
		return err
	}
	if owner.Kind == owners.GitOps {
		p.Warnings = append(p.Warnings, owners.Warning(p.current, owner))
	}
	return nil
}

// chooseBackends reads the versions the route's API knows: the merged DestinationRules'
// subsets, or the version Services.
func (p *Plan) chooseBackends(in Input, req Request, current *unstructured.Unstructured) {
	rules := istio.MergeDestinationRules(in.DestinationRules, in.Service)
	subsets := subsetBackends(rules.Subsets, in.ServiceSelector, in.Pods)
	services := versionBackends(in.Service, in.ServiceSelector, in.Services, in.EndpointSlices)
	if in.EndpointsUnreadable {
		for i := range services {
			services[i].Pods, services[i].ReadyPods = unknown, unknown
		}
	}
	if current != nil {
		p.API = apiOf(current)
	} else {
		p.API = chooseAPI(in, req, subsets, services)
	}
	if p.API.gatewayAPI() {
		p.Backends = services
		return
	}
	p.Backends = subsets
	p.DestinationRules, p.nearMisses = rules.Names, rules.NearMisses
	p.Warnings = append(p.Warnings, rules.Shadowed...)
}

// planWithoutRoute handles a service no route carries: a status says so, promote and
// rollback have nothing to act on, a percentage creates a route.
func (p *Plan) planWithoutRoute(in Input, req Request) error {
	misses := virtualServiceNearMisses(in.VirtualServices, in.Service)
	switch {
	case !req.changesWeights():
		p.Warnings = append(p.Warnings, misses...)
		return nil
	case req.Promote || req.Rollback:
		return fmt.Errorf("%s: no canary in progress: no VirtualService or HTTPRoute in namespace %s routes it", in.Service, in.Service.Namespace)
	case len(misses) > 0:
		// A second route beside the one meant would leave the two to disagree.
		return fmt.Errorf("%s: no VirtualService routes it, but %s: fix its hosts first", in.Service, joinAll(misses))
	}
	return p.planNew(in, req)
}

// Changes are the writes the plan needs: none, or the route to create or update.
func (p *Plan) Changes() []change.Change {
	if !p.Changed {
		return nil
	}
	detail := "weights " + FormatWeights(p.After)
	return []change.Change{{Before: p.current, After: p.Route, Detail: detail}}
}

// FigureScope names whose traffic the plan's figures are about: the service and, on a
// Gateway API route, its version Services; and whether a waypoint reports them (ambient).
func (p *Plan) FigureScope() (services []string, waypoint bool) {
	services = []string{p.Service.Name}
	if p.API.gatewayAPI() {
		services = append(services, backendNames(p.Backends)...)
	}
	return services, p.Waypoint != ""
}
