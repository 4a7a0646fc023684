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
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/host"
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
	Service          host.Service
	ServiceSelector  map[string]string
	VirtualServices  []*unstructured.Unstructured
	DestinationRules []*networkingv1.DestinationRule
	Pods             []corev1.Pod
}

// Plan is the outcome: the VirtualService to write, and what changes, for people.
type Plan struct {
	Service host.Service
	// VirtualService is the object to write (Create: new), or for a status the current one.
	// Nil when no VirtualService routes the service and none is to be written.
	VirtualService *unstructured.Unstructured
	Create         bool
	Changed        bool

	Route           string // the route, for people: `route "default"`, `route #0`
	DestinationRule string // name of the DestinationRule the subsets come from; "" if none
	Stable, Canary  string
	InProgress      bool     // a canary record exists for the route (after the change)
	Before, After   []Weight // the route's weights; Before is nil when there was no VirtualService
	Subsets         []Subset // the DestinationRule's subsets, in its order, with their pods
	Warnings        []string // what --force let through
	action          string
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
	if dr := destinationRuleFor(in.DestinationRules, in.Service); dr != nil {
		p.DestinationRule = dr.Name
		p.Subsets = subsetsOf(dr, in.ServiceSelector, in.Pods)
	}
	current, err := virtualServiceFor(in.VirtualServices, in.Service)
	if err != nil {
		return nil, err
	}
	if current == nil {
		switch {
		case !req.changesWeights():
			return p, nil
		case req.Promote || req.Rollback:
			return nil, fmt.Errorf("%s: no canary in progress: no VirtualService in namespace %s routes it", in.Service, in.Service.Namespace)
		}
		if err := p.planNew(in, req); err != nil {
			return nil, err
		}
	} else if err := p.planExisting(current, req); err != nil {
		return nil, err
	}
	if err := p.checkTargets(req.Force); err != nil {
		return nil, err
	}
	return p, nil
}

// virtualServiceFor finds the VirtualService routing svc for mesh traffic. Istio applies only
// one per host to sidecars, so several are an error for the user to resolve, not to guess at.
func virtualServiceFor(all []*unstructured.Unstructured, svc host.Service) (*unstructured.Unstructured, error) {
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
			"labels":    map[string]any{ManagedByLabel: ManagedByValue},
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

func newEntry(destination map[string]any, subset string, weight int64) map[string]any {
	d := make(map[string]any, len(destination)+1)
	for k, v := range destination {
		d[k] = v
	}
	d["subset"] = subset
	return map[string]any{"destination": d, "weight": weight}
}

func (p *Plan) planExisting(current *unstructured.Unstructured, req Request) error {
	vs := current.DeepCopy()
	p.VirtualService = vs
	ref, route, err := selectRoute(vs, p.Service, req.Route)
	if err != nil {
		return err
	}
	p.Route = ref.String()
	dests := destinations(route)
	if err := p.checkDestinations(vs, ref, dests); err != nil {
		return err
	}
	p.Before = weightsOf(dests)
	p.After = p.Before

	recs, err := readRecords(vs)
	if err != nil {
		return err
	}
	rec, inProgress := recs[ref.key()]
	if inProgress && (!hasSubset(dests, rec.Stable) || !hasSubset(dests, rec.Canary) || rec.Stable == rec.Canary) {
		// Someone edited the route since: the record no longer describes it.
		p.Warnings = append(p.Warnings, fmt.Sprintf("the canary record on VirtualService %s names %s (stable) and %s (canary), which %s no longer routes to as such; judging roles by weight",
			vs.GetName(), rec.Stable, rec.Canary, ref))
		delete(recs, ref.key())
		inProgress = false
	}
	p.InProgress = inProgress

	if inProgress {
		if req.Canary != "" && req.Canary != rec.Canary {
			return fmt.Errorf("%s: a canary of %s is in progress on %s (stable %s): --promote or --rollback it before starting one of %s",
				p.Service, rec.Canary, ref, rec.Stable, req.Canary)
		}
		p.Stable, p.Canary = rec.Stable, rec.Canary
	} else {
		p.Stable = heaviest(dests)
		if p.Stable == "" {
			// One destination without a subset: the whole service. It becomes the first subset.
			if len(p.Subsets) == 0 {
				return p.noSubsetsError()
			}
			p.Stable = p.Subsets[0].Name
		}
		others := otherSubsets(dests, p.Stable)
		if len(others) == 1 {
			p.Canary = others[0].subset
		}
		switch {
		case !req.changesWeights():
			return nil
		case req.Rollback && len(others) == 0:
			return nil // nothing to roll back: rolling back twice is fine
		case req.Rollback:
			// Everything goes back to stable; which of the others was "the" canary is moot.
		case req.Promote && len(others) == 0 && req.Canary == "":
			return fmt.Errorf("%s: no canary in progress on %s (all traffic goes to %s): start one with `kubectl mesh canary %s PERCENT`, or name the subset to promote with --canary",
				p.Service, ref, p.Stable, p.Service)
		default:
			if p.Canary, err = p.chooseCanary(req.Canary, others); err != nil {
				return err
			}
		}
	}
	if !req.changesWeights() {
		return nil
	}

	var entries []any
	switch {
	case req.Promote:
		entries = []any{p.entryFor(dests, p.Canary, 100)}
		delete(recs, ref.key())
		p.After, p.InProgress = []Weight{{p.Canary, 100}}, false
	case req.Rollback:
		entries = []any{p.entryFor(dests, p.Stable, 100)}
		delete(recs, ref.key())
		p.After, p.InProgress = []Weight{{p.Stable, 100}}, false
	default:
		percent := int64(*req.Percent)
		for _, d := range dests {
			if d.subset != p.Stable && d.subset != p.Canary && d.subset != "" && d.weight > 0 {
				return fmt.Errorf("%s: %s also sends %d%% to subset %s; kubectl mesh canary splits traffic between two subsets (%s stable, %s canary): move that traffic first",
					p.Service, ref, d.weight, d.subset, p.Stable, p.Canary)
			}
		}
		entries = p.splitEntries(dests, percent)
		p.After = weightsOf(destinations(map[string]any{"route": entries}))
		// A step that changes no weight keeps the record's previous weights.
		if !inProgress || !equalWeights(p.Before, p.After) {
			recs[ref.key()] = record{Stable: p.Stable, Canary: p.Canary, Previous: p.Before}
		}
		p.InProgress = true
	}
	route["route"] = entries
	writeRecords(vs, recs)
	p.Changed = !equality.Semantic.DeepEqual(current.Object, vs.Object)
	return nil
}

// splitEntries sets stable and canary weights in place, keeping every other field of each
// entry and the entries' order; the canary gets a new entry after stable's if it has none.
func (p *Plan) splitEntries(dests []destination, percent int64) []any {
	// The stable entry is always on the route: roles come from it (heaviest, or the record,
	// which is dropped when its subsets are gone).
	entries := make([]any, 0, len(dests)+1)
	for _, d := range dests {
		switch d.subset {
		case p.Stable, "":
			setWeight(d, p.Stable, 100-percent)
			entries = append(entries, d.entry)
			if !hasSubset(dests, p.Canary) {
				entries = append(entries, newEntry(destinationOf(d.entry), p.Canary, percent))
			}
		case p.Canary:
			setWeight(d, p.Canary, percent)
			entries = append(entries, d.entry)
		default:
			entries = append(entries, d.entry) // weight 0, checked by the caller
		}
	}
	return entries
}

// setWeight writes weight into d's entry (and the subset, for a destination that had none).
func setWeight(d destination, subset string, weight int64) {
	if d.subset == "" {
		dest, _ := d.entry["destination"].(map[string]any)
		dest["subset"] = subset
	}
	if _, set := d.entry["weight"]; !set || weightOf(d.entry["weight"]) != weight {
		d.entry["weight"] = weight
	}
}

// entryFor returns the existing entry for subset with its weight set, or a new one modelled on
// the route's first destination (same host and port).
func (p *Plan) entryFor(dests []destination, subset string, weight int64) map[string]any {
	for _, d := range dests {
		if d.subset == subset {
			if _, set := d.entry["weight"]; set || weight != 100 {
				d.entry["weight"] = weight
			}
			return d.entry
		}
	}
	return newEntry(destinationOf(dests[0].entry), subset, weight)
}

// destinationOf copies an entry's destination (host, port) for a new entry.
func destinationOf(entry map[string]any) map[string]any {
	dest, _ := entry["destination"].(map[string]any)
	out := map[string]any{}
	for k, v := range dest {
		if k != "subset" {
			out[k] = v
		}
	}
	return out
}

// selectRoute picks the http route to change: --route by name (or #index), else the only
// route, else the catch-all route; otherwise the user must choose.
func selectRoute(vs *unstructured.Unstructured, svc host.Service, want string) (routeRef, map[string]any, error) {
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

// checkDestinations refuses routes whose traffic we cannot shift without touching more than
// weights: other hosts, redirects and delegates, subset-less destinations beside others.
func (p *Plan) checkDestinations(vs *unstructured.Unstructured, ref routeRef, dests []destination) error {
	if len(dests) == 0 {
		return fmt.Errorf("%s: %s of VirtualService %s has no destinations (redirect, delegate or direct response): nothing to shift", p.Service, ref, vs.GetName())
	}
	for _, d := range dests {
		if !host.Matches(d.host, vs.GetNamespace(), p.Service) {
			return fmt.Errorf("%s: %s of VirtualService %s also sends traffic to host %q; kubectl mesh canary shifts traffic between subsets of one service only",
				p.Service, ref, vs.GetName(), d.host)
		}
		if d.subset == "" && len(dests) > 1 {
			return fmt.Errorf("%s: %s of VirtualService %s mixes a destination without a subset with others; give it a subset first", p.Service, ref, vs.GetName())
		}
	}
	return nil
}

// chooseCanary: --canary, else the one other subset already on the route, else the subset
// after stable in the DestinationRule's order.
func (p *Plan) chooseCanary(requested string, others []destination) (string, error) {
	switch {
	case requested != "":
		if requested == p.Stable {
			return "", fmt.Errorf("%s: --canary %s is the stable subset; pick another (subsets: %s)", p.Service, requested, strings.Join(subsetNames(p.Subsets), ", "))
		}
		return requested, nil
	case len(others) == 1:
		return others[0].subset, nil
	case len(others) > 1:
		var shares []string
		for _, o := range others {
			shares = append(shares, o.String())
		}
		return "", fmt.Errorf("%s: besides stable %s, the route sends traffic to several subsets (%s): pick the canary with --canary", p.Service, p.Stable, strings.Join(shares, ", "))
	}
	if len(p.Subsets) == 0 {
		return "", p.noSubsetsError()
	}
	for i, s := range p.Subsets {
		if s.Name == p.Stable {
			if i+1 < len(p.Subsets) {
				return p.Subsets[i+1].Name, nil
			}
			return "", fmt.Errorf("%s: stable subset %s is the last in DestinationRule %s (subsets: %s): pick the canary with --canary",
				p.Service, p.Stable, p.DestinationRule, strings.Join(subsetNames(p.Subsets), ", "))
		}
	}
	return "", fmt.Errorf("%s: stable subset %s is not in DestinationRule %s (subsets: %s): pick the canary with --canary",
		p.Service, p.Stable, p.DestinationRule, strings.Join(subsetNames(p.Subsets), ", "))
}

func (p *Plan) noSubsetsError() error {
	if p.DestinationRule == "" {
		return fmt.Errorf("%s: no DestinationRule in namespace %s defines subsets for host %s: create one with a subset per version first",
			p.Service, p.Service.Namespace, p.Service)
	}
	return fmt.Errorf("%s: DestinationRule %s defines no subsets: add one per version first", p.Service, p.DestinationRule)
}

// checkTargets refuses to send more traffic than before to a subset Envoy cannot serve: one
// the DestinationRule lacks (503 NC) or one with no ready pods (503 UH). With force, the
// refusals become warnings.
func (p *Plan) checkTargets(force bool) error {
	before := map[string]int64{}
	for _, w := range p.Before {
		before[w.Subset] = w.Weight
	}
	for _, w := range p.After {
		if w.Weight <= before[w.Subset] {
			continue
		}
		var problem string
		subset, known := findSubset(p.Subsets, w.Subset)
		switch {
		case p.DestinationRule == "":
			problem = fmt.Sprintf("%s: no DestinationRule in namespace %s defines subset %q (503 NC in Envoy); create one or pass --force",
				p.Service, p.Service.Namespace, w.Subset)
		case !known:
			problem = fmt.Sprintf("%s: subset %q is not in DestinationRule %s (subsets: %s; 503 NC in Envoy); add it or pass --force",
				p.Service, w.Subset, p.DestinationRule, strings.Join(subsetNames(p.Subsets), ", "))
		case subset.ReadyPods == 0:
			problem = fmt.Sprintf("%s: subset %q selects no ready pods (%d pods, 0 ready; 503 UH in Envoy); deploy %s first or pass --force",
				p.Service, w.Subset, subset.Pods, w.Subset)
		default:
			continue
		}
		if !force {
			return fmt.Errorf("%s", problem)
		}
		p.Warnings = append(p.Warnings, strings.TrimSuffix(problem, " or pass --force")+" (sent anyway: --force)")
	}
	return nil
}

func weightsOf(dests []destination) []Weight {
	out := make([]Weight, len(dests))
	for i, d := range dests {
		out[i] = Weight{Subset: d.subset, Weight: d.weight}
	}
	return out
}

func equalWeights(a, b []Weight) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// heaviest is the subset with the most weight; the first on the route wins a tie.
func heaviest(dests []destination) string {
	best := 0
	for i, d := range dests {
		if d.weight > dests[best].weight {
			best = i
		}
	}
	return dests[best].subset
}

func otherSubsets(dests []destination, stable string) []destination {
	var others []destination
	for _, d := range dests {
		if d.subset != stable && d.subset != "" {
			others = append(others, d)
		}
	}
	return others
}

func hasSubset(dests []destination, subset string) bool {
	for _, d := range dests {
		if d.subset == subset {
			return true
		}
	}
	return false
}
