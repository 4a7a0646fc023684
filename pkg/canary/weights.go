package canary

import "github.com/kubectl-mesh/kubectl-mesh/pkg/istio"

// splitEntries sets stable and canary weights in place, keeping every other field of each
// entry and the entries' order; the canary gets a new entry after stable's if it has none.
func (p *Plan) splitEntries(dests []destination, percent int64) []any {
	// The stable entry is always on the rule: roles come from it (heaviest, or the record,
	// which is dropped when its versions are gone).
	entries := make([]any, 0, len(dests)+1)
	for _, d := range dests {
		switch d.backend {
		case p.Stable, "":
			p.setWeight(d, p.Stable, 100-percent)
			entries = append(entries, d.entry)
			if !hasBackend(dests, p.Canary) {
				entries = append(entries, p.API.newEntry(d.entry, p.backend(p.Canary), percent))
			}
		case p.Canary:
			p.setWeight(d, p.Canary, percent)
			entries = append(entries, d.entry)
		default:
			entries = append(entries, d.entry) // weight 0, checked by the caller
		}
	}
	return entries
}

// setWeight writes weight into d's entry (and the version, for an entry that named the whole
// service).
func (p *Plan) setWeight(d destination, backend string, weight int64) {
	if d.backend == "" {
		p.API.setBackend(d.entry, backend)
	}
	if _, set := d.entry["weight"]; !set || weightOf(d.entry["weight"]) != weight {
		d.entry["weight"] = weight
	}
}

// entryFor returns the rule's entry for backend, or a new one modelled on the rule's first
// entry; the caller makes it the rule's only entry.
func (p *Plan) entryFor(dests []destination, backend string) map[string]any {
	for _, d := range dests {
		if d.backend == backend {
			return d.entry
		}
	}
	return p.API.newEntry(dests[0].entry, p.backend(backend), 100)
}

// backend is the version named name, or a bare one when the route's versions lack it (the
// target checks refuse to send it traffic unless --force).
func (p *Plan) backend(name string) Backend {
	if b, ok := findBackend(p.Backends, name); ok {
		return b
	}
	return Backend{Name: name}
}

// weightsOf is the share of traffic each destination gets, in percent: weights are relative
// in both APIs (v1 3, v2 1 is 75% and 25%). A lone VirtualService destination takes all
// whatever its weight; a lone backendRef of weight 0 takes nothing.
func (a routeAPI) weightsOf(dests []destination) []Weight {
	raw := make([]int64, len(dests))
	for i, d := range dests {
		raw[i] = d.weight
	}
	shares := istio.Shares(raw)
	if a.gatewayAPI() {
		shares = istio.BackendShares(raw)
	}
	out := make([]Weight, len(dests))
	for i, d := range dests {
		out[i] = Weight{Backend: d.backend, Weight: shares[i]}
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
