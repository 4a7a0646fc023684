package canary

import (
	"fmt"
	"strings"
)

// assignRoles sets Stable and Canary: from the record while a canary is in progress, else
// stable is the heaviest subset and the canary the one other subset on the route, --canary,
// or the next subset in the DestinationRule. done is true when the request needs no change.
func (p *Plan) assignRoles(r routeInPlay, rec record, inProgress bool, req Request) (done bool, err error) {
	if inProgress {
		if req.Canary != "" && req.Canary != rec.Canary {
			return false, fmt.Errorf("%s: a canary of %s is in progress on %s (stable %s): --promote or --rollback it before starting one of %s",
				p.Service, rec.Canary, r.ref, rec.Stable, req.Canary)
		}
		p.Stable, p.Canary = rec.Stable, rec.Canary
		return false, nil
	}
	p.Stable = heaviest(r.dests)
	if p.Stable == "" {
		// One destination without a subset: the whole service. It becomes the first subset.
		if len(p.Subsets) == 0 {
			return false, p.noSubsetsError()
		}
		p.Stable = p.Subsets[0].Name
	}
	others := otherSubsets(r.dests, p.Stable)
	if len(others) == 1 {
		p.Canary = others[0].subset
	}
	switch {
	case !req.changesWeights():
		return true, nil
	case req.Rollback && len(others) == 0:
		return true, nil // nothing to roll back: rolling back twice is fine
	case req.Rollback:
		// Everything goes back to stable; which of the others was "the" canary is moot.
		return false, nil
	case req.Promote && len(others) == 0 && req.Canary == "":
		return false, fmt.Errorf("%s: no canary in progress on %s (all traffic goes to %s): start one with `kubectl mesh canary %s PERCENT`, or name the subset to promote with --canary",
			p.Service, r.ref, p.Stable, p.Service)
	}
	p.Canary, err = p.chooseCanary(req.Canary, others)
	return false, err
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
			return "", fmt.Errorf("%s: stable subset %s is the last in %s (subsets: %s): pick the canary with --canary",
				p.Service, p.Stable, p.rules(), strings.Join(subsetNames(p.Subsets), ", "))
		}
	}
	return "", fmt.Errorf("%s: stable subset %s is not in %s (subsets: %s): pick the canary with --canary",
		p.Service, p.Stable, p.rules(), strings.Join(subsetNames(p.Subsets), ", "))
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
