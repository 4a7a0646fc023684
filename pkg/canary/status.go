package canary

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteStatus prints where the service's traffic goes: the VirtualService and route, the
// canary in progress, and per subset its role, weight and ready pods.
func WriteStatus(w io.Writer, p *Plan) error {
	if p.VirtualService == nil {
		fmt.Fprintf(w, "%s (namespace %s): no VirtualService routes it; traffic spreads over all ready pods\n", p.Service, p.Service.Namespace)
	} else {
		fmt.Fprintf(w, "%s (namespace %s): VirtualService %s, %s\n", p.Service, p.Service.Namespace, p.VirtualService.GetName(), p.Route)
		if p.InProgress {
			fmt.Fprintf(w, "canary in progress: %s stable, %s canary\n", p.Stable, p.Canary)
		}
	}
	switch {
	case p.DestinationRule == "":
		fmt.Fprintf(w, "no DestinationRule in namespace %s defines subsets for it\n", p.Service.Namespace)
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "SUBSET\tROLE\tWEIGHT\tREADY")
	listed := map[string]bool{}
	for _, s := range p.Subsets {
		listed[s.Name] = true
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\n", s.Name, p.role(s.Name), p.weight(s.Name), s.ReadyPods, s.Pods)
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
