package canary

import (
	"fmt"
	"strings"
)

// Summary is the one line a person reads after a change:
// "reviews: v1 90%, v2 10% (was v1 100%)".
func (p *Plan) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", p.Service, FormatWeights(p.After))
	switch {
	case !p.Changed:
		b.WriteString(" (unchanged)")
	case p.Before == nil:
		fmt.Fprintf(&b, " (was no %s: spread over all pods)", p.API.Kind)
	default:
		fmt.Fprintf(&b, " (was %s)", FormatWeights(p.Before))
	}
	switch p.action {
	case "promote":
		fmt.Fprintf(&b, "; %s promoted, now stable", p.Canary)
	case "rollback":
		if p.Changed {
			fmt.Fprintf(&b, "; rolled back to %s", p.Stable)
		}
	}
	return b.String()
}

// FormatWeights prints weights as "v1 90%, v2 10%"; an entry for the whole service reads
// "all pods".
func FormatWeights(weights []Weight) string {
	if len(weights) == 0 {
		return "no routes"
	}
	parts := make([]string, len(weights))
	for i, w := range weights {
		parts[i] = fmt.Sprintf("%s %d%%", nameOf(w.Backend), w.Weight)
	}
	return strings.Join(parts, ", ")
}

// nameOf is a version's name for people; "" is the whole service.
func nameOf(backend string) string {
	if backend == "" {
		return "all pods"
	}
	return backend
}

// WeightOf is backend's share in weights (0 when absent).
func WeightOf(weights []Weight, backend string) int64 {
	for _, w := range weights {
		if w.Backend == backend {
			return w.Weight
		}
	}
	return 0
}

// RouteName names the route the plan writes: "VirtualService reviews", "(to be created)" when
// it does not exist yet.
func (p *Plan) RouteName() string {
	if p.Route == nil {
		return "no route"
	}
	name := p.API.Kind + " " + p.Route.GetName()
	if p.Create {
		name += " (to be created)"
	}
	return name
}
