package canary

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// routeInPlay is the http route a step changes, inside the copy of the VirtualService that
// will be written: changes to route or to a destination's entry change vs.
type routeInPlay struct {
	vs    *unstructured.Unstructured
	ref   routeRef
	route map[string]any
	dests []destination
}

// planExisting plans a step on an existing VirtualService, in phases: which route, which
// subsets are stable and canary, then the new weights.
func (p *Plan) planExisting(current *unstructured.Unstructured, req Request) error {
	r, err := p.readRoute(current, req.Route)
	if err != nil {
		return err
	}
	recs, err := readRecords(r.vs)
	if err != nil {
		return err
	}
	rec, inProgress := p.liveRecord(r, recs)
	done, err := p.assignRoles(r, rec, inProgress, req)
	if err != nil || done || !req.changesWeights() {
		return err
	}
	if err := p.reweigh(r, recs, inProgress, req); err != nil {
		return err
	}
	writeRecords(r.vs, recs)
	p.Changed = !equality.Semantic.DeepEqual(current.Object, r.vs.Object)
	return nil
}

// readRoute picks the route (--route, the only one, or the catch-all) on a copy of current
// and checks that its traffic can be shifted by weights alone.
func (p *Plan) readRoute(current *unstructured.Unstructured, want string) (routeInPlay, error) {
	vs := current.DeepCopy()
	p.VirtualService = vs
	ref, route, err := selectRoute(vs, p.Service, want)
	if err != nil {
		return routeInPlay{}, err
	}
	p.Route = ref.String()
	dests := destinations(route)
	if err := p.checkDestinations(vs, ref, dests); err != nil {
		return routeInPlay{}, err
	}
	p.Before = weightsOf(dests)
	p.After = p.Before
	return routeInPlay{vs: vs, ref: ref, route: route, dests: dests}, nil
}

// liveRecord is the route's canary record, if it still describes the route; a record naming
// subsets the route no longer has (someone edited it since) is dropped with a warning.
func (p *Plan) liveRecord(r routeInPlay, recs records) (record, bool) {
	rec, ok := recs[r.ref.key()]
	if ok && (!hasSubset(r.dests, rec.Stable) || !hasSubset(r.dests, rec.Canary) || rec.Stable == rec.Canary) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the canary record on VirtualService %s names %s (stable) and %s (canary), which %s no longer routes to as such; judging roles by weight",
			r.vs.GetName(), rec.Stable, rec.Canary, r.ref))
		delete(recs, r.ref.key())
		ok = false
	}
	p.InProgress = ok
	return rec, ok
}

// reweigh writes the request's weights into the route and updates the records: promote and
// rollback leave one destination and close the record, a percentage splits stable and canary.
func (p *Plan) reweigh(r routeInPlay, recs records, inProgress bool, req Request) error {
	switch {
	case req.Promote:
		r.route["route"] = []any{p.entryFor(r.dests, p.Canary, 100)}
		delete(recs, r.ref.key())
		p.After, p.InProgress = []Weight{{p.Canary, 100}}, false
	case req.Rollback:
		r.route["route"] = []any{p.entryFor(r.dests, p.Stable, 100)}
		delete(recs, r.ref.key())
		p.After, p.InProgress = []Weight{{p.Stable, 100}}, false
	default:
		for _, d := range r.dests {
			if d.subset != p.Stable && d.subset != p.Canary && d.subset != "" && d.weight > 0 {
				return fmt.Errorf("%s: %s also sends %d%% to subset %s; kubectl mesh canary splits traffic between two subsets (%s stable, %s canary): move that traffic first",
					p.Service, r.ref, d.weight, d.subset, p.Stable, p.Canary)
			}
		}
		entries := p.splitEntries(r.dests, int64(*req.Percent))
		r.route["route"] = entries
		p.After = weightsOf(destinations(r.route))
		// A step that changes no weight keeps the record's previous weights.
		if !inProgress || !equalWeights(p.Before, p.After) {
			recs[r.ref.key()] = record{Stable: p.Stable, Canary: p.Canary, Previous: p.Before}
		}
		p.InProgress = true
	}
	return nil
}
