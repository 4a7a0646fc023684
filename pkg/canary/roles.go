package canary

import (
	"fmt"
	"strings"
)

// assignRoles sets Stable and Canary: from the record while a canary is in progress, else
// stable is the heaviest subset and the canary the one other subset on the route, --canary,
// or the next subset in the DestinationRule. done is true when the request needs no change.
func (p *Plan) assignRoles(r ruleInPlay, rec record, inProgress bool, req Request) (done bool, err error) {
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
		// One destination naming the whole service: it becomes the first version.
		if len(p.Backends) == 0 {
			return false, p.noBackendsError()
		}
		p.Stable = p.Backends[0].Name
	}
	others := otherBackends(r.dests, p.Stable)
	if len(others) == 1 {
		p.Canary = others[0].backend
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
		return false, fmt.Errorf("%s: no canary in progress on %s (all traffic goes to %s): start one with `kubectl mesh canary %s PERCENT`, or name the %s to promote with --canary",
			p.Service, r.ref, p.Stable, p.Service, p.API.Term)
	}
	p.Canary, err = p.chooseCanary(req.Canary, others)
	return false, err
}

// chooseCanary: --canary, else the one other version already on the rule, else the version
// after stable in order (the DestinationRule's, or the versions').
func (p *Plan) chooseCanary(requested string, others []destination) (string, error) {
	term := p.API.Term
	switch {
	case requested != "":
		if requested == p.Stable {
			return "", fmt.Errorf("%s: --canary %s is the stable %s; pick another (%ss: %s)", p.Service, requested, term, term, p.backendList())
		}
		return requested, nil
	case len(others) == 1:
		return others[0].backend, nil
	case len(others) > 1:
		var shares []string
		for _, o := range others {
			shares = append(shares, o.String())
		}
		return "", fmt.Errorf("%s: besides stable %s, the %s sends traffic to several %ss (%s): pick the canary with --canary", p.Service, p.Stable, p.API.RuleTerm, term, strings.Join(shares, ", "))
	}
	if len(p.Backends) == 0 {
		return "", p.noBackendsError()
	}
	for i, b := range p.Backends {
		if b.Name == p.Stable {
			if i+1 < len(p.Backends) {
				return p.Backends[i+1].Name, nil
			}
			return "", fmt.Errorf("%s: stable %s %s is the last in %s (%ss: %s): pick the canary with --canary",
				p.Service, term, p.Stable, p.versionsSource(), term, p.backendList())
		}
	}
	return "", fmt.Errorf("%s: stable %s %s is not in %s (%ss: %s): pick the canary with --canary",
		p.Service, term, p.Stable, p.versionsSource(), term, p.backendList())
}

// heaviest is the version with the most weight; the first on the rule wins a tie.
func heaviest(dests []destination) string {
	best := 0
	for i, d := range dests {
		if d.weight > dests[best].weight {
			best = i
		}
	}
	return dests[best].backend
}

func otherBackends(dests []destination, stable string) []destination {
	var others []destination
	for _, d := range dests {
		if d.backend != stable && d.backend != "" {
			others = append(others, d)
		}
	}
	return others
}

func hasBackend(dests []destination, backend string) bool {
	for _, d := range dests {
		if d.backend == backend {
			return true
		}
	}
	return false
}
