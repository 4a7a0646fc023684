package canary

import "github.com/kubectl-mesh/kubectl-mesh/pkg/istio"

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

func newEntry(destination map[string]any, subset string, weight int64) map[string]any {
	d := make(map[string]any, len(destination)+1)
	for k, v := range destination {
		d[k] = v
	}
	d["subset"] = subset
	return map[string]any{"destination": d, "weight": weight}
}

// weightsOf is the share of traffic each destination gets, in percent: Istio's weights are
// relative (v1 3, v2 1 is 75% and 25%).
func weightsOf(dests []destination) []Weight {
	raw := make([]int64, len(dests))
	for i, d := range dests {
		raw[i] = d.weight
	}
	shares := istio.Shares(raw)
	out := make([]Weight, len(dests))
	for i, d := range dests {
		out[i] = Weight{Subset: d.subset, Weight: shares[i]}
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
