package canary

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// WriteStatus prints where the service's traffic goes: the route and rule, the canary in
// progress, and per version its role, weight and what is ready to serve it; with live figures
// (by version name; nil when there is no telemetry), also its request rate, error rate and p99.
func WriteStatus(w io.Writer, p *Plan, live map[string]Figures) error {
	if p.Route == nil {
		fmt.Fprintf(w, "%s (namespace %s): no VirtualService or HTTPRoute routes it; traffic spreads over all ready pods\n", p.Service, p.Service.Namespace)
	} else {
		fmt.Fprintf(w, "%s (namespace %s): %s %s, %s\n", p.Service, p.Service.Namespace, p.Route.GetKind(), p.Route.GetName(), p.Rule)
		if p.InProgress {
			fmt.Fprintf(w, "canary in progress: %s stable, %s canary\n", p.Stable, p.Canary)
		}
	}
	switch {
	case p.Waypoint != "":
		fmt.Fprintf(w, "ambient: through waypoint %s\n", p.Waypoint)
	}
	switch {
	case p.API.gatewayAPI() && len(p.Backends) == 0:
		fmt.Fprintf(w, "no version Services in namespace %s (a Service per version, selecting its pods by a version label)\n", p.Service.Namespace)
	case p.API.gatewayAPI():
	case len(p.DestinationRules) == 0:
		fmt.Fprintf(w, "no DestinationRule in namespace %s defines subsets for it%s\n", p.Service.Namespace, p.nearMissNote())
	case len(p.DestinationRules) > 1:
		fmt.Fprintf(w, "subsets from %s\n", p.versionsSource())
	}
	fmt.Fprintln(w)
	return p.writeTable(w, live)
}

func (p *Plan) writeTable(w io.Writer, live map[string]Figures) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	header := strings.ToUpper(p.API.Term) + "\tROLE\tWEIGHT\tREADY"
	if live != nil {
		header += "\tRPS\tERRORS\tP99"
	}
	fmt.Fprintln(tw, header)
	listed := map[string]bool{}
	for _, b := range p.Backends {
		listed[b.Name] = true
		ready := fmt.Sprintf("%d/%d", b.ReadyPods, b.Pods)
		if b.ReadyPods == unknown {
			ready = "?"
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s", b.Name, p.role(b.Name), p.weight(b.Name), ready)
		if live != nil {
			f, ok := live[b.Name]
			switch {
			case !ok:
				row += "\t-\t-\t-"
			case f.HasP99:
				row += fmt.Sprintf("\t%.2f\t%s\t%s", f.RPS, output.Share(f.ErrorRate), output.Millis(f.P99Ms))
			default:
				row += fmt.Sprintf("\t%.2f\t%s\t-", f.RPS, output.Share(f.ErrorRate))
			}
		}
		fmt.Fprintln(tw, row)
	}
	missing := "not in DestinationRule"
	if p.API.gatewayAPI() {
		missing = "no such version Service"
	}
	for _, wt := range p.After {
		if !listed[wt.Backend] {
			name := wt.Backend
			if name == "" {
				name = "(all pods)"
				missing = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d%%\t%s\n", name, p.role(wt.Backend), wt.Weight, missing)
		}
	}
	return tw.Flush()
}

func (p *Plan) role(backend string) string {
	switch {
	case backend == "":
		return "-"
	case backend == p.Stable:
		return "stable"
	case backend == p.Canary:
		return "canary"
	}
	return "-"
}

func (p *Plan) weight(backend string) string {
	if p.Route == nil {
		return "-"
	}
	return fmt.Sprintf("%d%%", WeightOf(p.After, backend))
}
