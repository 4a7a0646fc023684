package canary

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteStatus prints where the service's traffic goes: the VirtualService and route, the
// canary in progress, and per subset its role, weight and ready pods; with live figures (by
// subset name; nil when there is no telemetry), also its request rate, error rate and p99.
func WriteStatus(w io.Writer, p *Plan, live map[string]Figures) error {
	if p.VirtualService == nil {
		fmt.Fprintf(w, "%s (namespace %s): no VirtualService routes it; traffic spreads over all ready pods\n", p.Service, p.Service.Namespace)
	} else {
		fmt.Fprintf(w, "%s (namespace %s): VirtualService %s, %s\n", p.Service, p.Service.Namespace, p.VirtualService.GetName(), p.Route)
		if p.InProgress {
			fmt.Fprintf(w, "canary in progress: %s stable, %s canary\n", p.Stable, p.Canary)
		}
	}
	switch {
	case len(p.DestinationRules) == 0:
		fmt.Fprintf(w, "no DestinationRule in namespace %s defines subsets for it%s\n", p.Service.Namespace, p.nearMissNote())
	case len(p.DestinationRules) > 1:
		fmt.Fprintf(w, "subsets from %s\n", p.rules())
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	header := "SUBSET\tROLE\tWEIGHT\tREADY"
	if live != nil {
		header += "\tRPS\tERRORS\tP99"
	}
	fmt.Fprintln(tw, header)
	listed := map[string]bool{}
	for _, s := range p.Subsets {
		listed[s.Name] = true
		row := fmt.Sprintf("%s\t%s\t%s\t%d/%d", s.Name, p.role(s.Name), p.weight(s.Name), s.ReadyPods, s.Pods)
		if live != nil {
			f, ok := live[s.Name]
			switch {
			case !ok:
				row += "\t-\t-\t-"
			case f.HasP99:
				row += fmt.Sprintf("\t%.2f\t%.1f%%\t%.0fms", f.RPS, f.ErrorRate*100, f.P99Ms)
			default:
				row += fmt.Sprintf("\t%.2f\t%.1f%%\t-", f.RPS, f.ErrorRate*100)
			}
		}
		fmt.Fprintln(tw, row)
	}
	for _, w := range p.After {
		if !listed[w.Subset] {
			name := w.Subset
			if name == "" {
				name = "(all pods)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d%%\t%s\n", name, p.role(w.Subset), w.Weight, "not in DestinationRule")
		}
	}
	return tw.Flush()
}

func (p *Plan) role(subset string) string {
	switch {
	case subset == "":
		return "-"
	case subset == p.Stable:
		return "stable"
	case subset == p.Canary:
		return "canary"
	}
	return "-"
}

func (p *Plan) weight(subset string) string {
	if p.VirtualService == nil {
		return "-"
	}
	return fmt.Sprintf("%d%%", WeightOf(p.After, subset))
}
