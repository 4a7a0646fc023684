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
		b.WriteString(" (was no VirtualService: spread over all pods)")
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

// FormatWeights prints weights as "v1 90%, v2 10%"; a destination without a subset reads
// "all pods".
func FormatWeights(weights []Weight) string {
	if len(weights) == 0 {
		return "no routes"
	}
	parts := make([]string, len(weights))
	for i, w := range weights {
		name := w.Subset
		if name == "" {
			name = "all pods"
		}
		parts[i] = fmt.Sprintf("%s %d%%", name, w.Weight)
	}
	return strings.Join(parts, ", ")
}

// WeightOf is subset's share in weights (0 when absent).
func WeightOf(weights []Weight, subset string) int64 {
	for _, w := range weights {
		if w.Subset == subset {
			return w.Weight
		}
	}
	return 0
}
