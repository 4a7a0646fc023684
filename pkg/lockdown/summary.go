package lockdown

import (
	"fmt"
	"io"
	"strings"
)

// WriteSummary prints one line per write ("peerauthentication/default configured: mtls
// STRICT (was PERMISSIVE)"), then who may call what. suffix marks dry runs.
func WriteSummary(out io.Writer, p *Plan, suffix string) error {
	if len(p.Changes) == 0 {
		fmt.Fprintf(out, "namespace %s: already locked down, nothing to change\n", p.Namespace)
	}
	for _, w := range p.Changes {
		fmt.Fprintf(out, "%s %s%s: %s\n", w.Ref(), w.Verb(), suffix, w.Detail)
	}
	exceptions := ""
	if len(p.Openings) > 0 {
		exceptions = " (but for the existing policies below)"
	}
	fmt.Fprintf(out, "\nnamespace %s: mTLS STRICT, deny by default%s. Allowed callers:\n", p.Namespace, exceptions)
	var denied []string
	opened := map[string]bool{}
	for _, o := range p.Openings {
		for _, w := range o.Workloads {
			opened[w] = true
		}
	}
	for _, w := range p.Workloads {
		switch {
		case len(p.Kept[w.Name]) > 0:
			fmt.Fprintf(out, "  %s <- unchanged: its own ALLOW policies decide, as before (%s)\n", w.Name, strings.Join(p.Kept[w.Name], ", "))
		case p.Gateways[w.Name]:
			fmt.Fprintf(out, "  %s <- anyone (gateway)\n", w.Name)
		case len(p.Allowed[w.Name]) > 0:
			var who []string
			for _, c := range p.Allowed[w.Name] {
				who = append(who, fmt.Sprintf("%s (%s)", c, c.Reason))
			}
			fmt.Fprintf(out, "  %s <- %s\n", w.Name, strings.Join(who, ", "))
		case opened[w.Name]:
			fmt.Fprintf(out, "  %s <- only what existing policies admit (below)\n", w.Name)
		default:
			denied = append(denied, w.Name)
		}
	}
	if len(denied) > 0 {
		fmt.Fprintf(out, "  denied every caller: %s (allow callers with --allow-from)\n", strings.Join(denied, ", "))
	}
	if len(p.Waypoints) > 0 {
		fmt.Fprintf(out, "\nThrough waypoints (ztunnel sees the waypoint; the waypoint checks the callers):\n")
		for _, b := range p.Waypoints {
			if len(b.Kept) > 0 {
				fmt.Fprintf(out, "  %s, at waypoint %s <- unchanged: its own ALLOW policies decide, as before (%s)\n", b.subject(), b.Waypoint, strings.Join(b.Kept, ", "))
				continue
			}
			if len(b.Callers) == 0 {
				fmt.Fprintf(out, "  %s, at waypoint %s <- no one (no caller to keep but the waypoint)\n", b.subject(), b.Waypoint)
				continue
			}
			var who []string
			for _, c := range b.Callers {
				who = append(who, fmt.Sprintf("%s (%s)", c, c.Reason))
			}
			fmt.Fprintf(out, "  %s, at waypoint %s <- %s\n", b.subject(), b.Waypoint, strings.Join(who, ", "))
		}
	}
	if len(p.Refused) > 0 {
		fmt.Fprintf(out, "\nNot admitted, because that would allow what is denied today (lockdown never widens access):\n")
		for _, r := range p.Refused {
			fmt.Fprintf(out, "  %s\n", r)
		}
	}
	if len(p.Openings) > 0 {
		fmt.Fprintf(out, "\nExisting ALLOW policies keep admitting callers wholesale (default deny does not override them; narrow or remove them to lock those callers out):\n")
		for _, o := range p.Openings {
			fmt.Fprintf(out, "  %s\n", o)
		}
	}
	if len(p.Observed) > 0 {
		fmt.Fprintf(out, "\nTraffic seen into namespace %s, under the lockdown:\n", p.Namespace)
		for _, v := range p.Observed {
			fmt.Fprintf(out, "  %s -> %s (%s, %s): %s\n", v.from(), v.Workload, v.Protocol, v.volume(), v.Why)
		}
	}
	return nil
}

// WriteUndoSummary prints one line per write of an undo.
func WriteUndoSummary(out io.Writer, p *Plan, suffix string) error {
	if len(p.Changes) == 0 {
		_, err := fmt.Fprintf(out, "namespace %s: nothing to undo (no policy created or changed by lockdown)\n", p.Namespace)
		return err
	}
	for _, w := range p.Changes {
		fmt.Fprintf(out, "%s %s%s: %s\n", w.Ref(), w.Verb(), suffix, w.Detail)
	}
	return nil
}
