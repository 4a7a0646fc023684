package canary

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ruleInPlay is the rule a step changes, inside the copy of the route that will be written:
// changes to rule or to a destination's entry change route.
type ruleInPlay struct {
	route *unstructured.Unstructured
	ref   ruleRef
	rule  map[string]any
	dests []destination
}

// planExisting plans a step on an existing route, in phases: which rule, which versions are
// stable and canary, then the new weights.
func (p *Plan) planExisting(current *unstructured.Unstructured, req Request) error {
	r, err := p.readRule(current, req.Route)
	if err != nil {
		return err
	}
	recs, err := readRecords(r.route)
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
	writeRecords(r.route, recs)
	p.Changed = !equality.Semantic.DeepEqual(current.Object, r.route.Object)
	return nil
}

// readRule picks the rule (--route, the only one, or the catch-all) on a copy of current and
// checks that its traffic can be shifted by weights alone.
func (p *Plan) readRule(current *unstructured.Unstructured, want string) (ruleInPlay, error) {
	route := current.DeepCopy()
	p.Route = route
	ref, rule, err := p.selectRule(route, want)
	if err != nil {
		return ruleInPlay{}, err
	}
	p.Rule = ref.String()
	dests := p.API.destinations(rule, p.Service)
	if err := p.checkDestinations(route, ref, dests); err != nil {
		return ruleInPlay{}, err
	}
	p.Before = p.API.weightsOf(dests)
	p.After = p.Before
	return ruleInPlay{route: route, ref: ref, rule: rule, dests: dests}, nil
}

// liveRecord is the rule's canary record, if it still describes the rule; a record naming
// versions the rule no longer has (someone edited it since) is dropped with a warning.
func (p *Plan) liveRecord(r ruleInPlay, recs records) (record, bool) {
	rec, ok := recs[r.ref.key()]
	if ok && (!hasBackend(r.dests, rec.Stable) || !hasBackend(r.dests, rec.Canary) || rec.Stable == rec.Canary) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the canary record on %s %s names %s (stable) and %s (canary), which %s no longer routes to as such; judging roles by weight",
			r.route.GetKind(), r.route.GetName(), rec.Stable, rec.Canary, r.ref))
		delete(recs, r.ref.key())
		ok = false
	}
	p.InProgress = ok
	return rec, ok
}

// reweigh writes the request's weights into the rule and updates the records: promote and
// rollback leave one destination and close the record, a percentage splits stable and canary.
func (p *Plan) reweigh(r ruleInPlay, recs records, inProgress bool, req Request) error {
	entries := p.API.entries
	switch {
	case req.Promote:
		r.rule[entries] = []any{p.API.soleEntry(p.entryFor(r.dests, p.Canary))}
		delete(recs, r.ref.key())
		p.After, p.InProgress = []Weight{{p.Canary, 100}}, false
	case req.Rollback:
		r.rule[entries] = []any{p.API.soleEntry(p.entryFor(r.dests, p.Stable))}
		delete(recs, r.ref.key())
		p.After, p.InProgress = []Weight{{p.Stable, 100}}, false
	default:
		for i, d := range r.dests {
			if d.backend != p.Stable && d.backend != p.Canary && d.backend != "" && d.weight > 0 {
				return fmt.Errorf("%s: %s also sends %d%% to %s %s; kubectl mesh canary splits traffic between two versions (%s stable, %s canary): move that traffic first",
					p.Service, r.ref, p.Before[i].Weight, p.API.Term, d.backend, p.Stable, p.Canary)
			}
		}
		r.rule[entries] = p.splitEntries(r.dests, int64(*req.Percent))
		p.After = p.API.weightsOf(p.API.destinations(r.rule, p.Service))
		// A step that changes no weight keeps the record's previous weights.
		if !inProgress || !equalWeights(p.Before, p.After) {
			recs[r.ref.key()] = record{Stable: p.Stable, Canary: p.Canary, Previous: p.Before}
		}
		p.InProgress = true
	}
	return nil
}
