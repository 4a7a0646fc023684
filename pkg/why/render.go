package why

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the request's way, one step a line, then what was observed and the
// verdict last.
func WriteText(out io.Writer, r Report, req Request) error {
	fmt.Fprintf(out, "%s -> %s: %s\n\n", endpointText(r.Source), endpointText(r.Destination), requestText(req))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, s := range r.Steps {
		object := s.Object
		if object == "" {
			object = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Step, object, s.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if o := r.Observed; o != nil {
		fmt.Fprintf(out, "\nseen in the last %s: %.0f requests\n", o.Window, o.Requests)
		for _, c := range o.ByCode {
			meaning := ""
			if c.Meaning != "" {
				meaning = " (" + c.Meaning + ")"
			}
			fmt.Fprintf(out, "  %s %s: %.0f%s\n", c.Code, c.Flags, c.Requests, meaning)
		}
		if o.Disagrees != "" {
			fmt.Fprintf(out, "  note: %s\n", o.Disagrees)
		}
	}
	_, err := fmt.Fprintf(out, "\n%s\n", verdictText(r))
	return err
}

func endpointText(e Endpoint) string {
	switch e.Kind {
	case "outside":
		return "outside the mesh"
	case "principal":
		return e.Principal
	case "service":
		return fmt.Sprintf("service %s/%s", e.Namespace, e.Name)
	}
	return fmt.Sprintf("%s/%s", e.Namespace, e.Name)
}

func requestText(req Request) string {
	parts := []string{}
	if req.Method != "" || req.Path != "" {
		parts = append(parts, strings.TrimSpace(req.Method+" "+req.Path))
	}
	if req.Port != 0 {
		parts = append(parts, fmt.Sprintf("port %d", req.Port))
	}
	return strings.Join(parts, ", ")
}

// verdictText is the last line: allowed, denied (how and where), or not routable (and why).
func verdictText(r Report) string {
	var b strings.Builder
	switch r.Verdict {
	case Allowed:
		b.WriteString("verdict: allowed")
	case Denied:
		fmt.Fprintf(&b, "verdict: denied (%s", r.Response)
		if r.EnforcedAt != "" {
			fmt.Fprintf(&b, " at the %s", r.EnforcedAt)
		}
		b.WriteString(")")
	default:
		fmt.Fprintf(&b, "verdict: not routable (%s)", r.Response)
	}
	switch {
	case r.DecidedBy != nil && r.DecidedBy.Rule != nil:
		fmt.Fprintf(&b, ", by %s %s/%s rule %d", strings.ToLower(r.DecidedBy.Kind), r.DecidedBy.Namespace, r.DecidedBy.Name, *r.DecidedBy.Rule)
	case r.DecidedBy != nil:
		fmt.Fprintf(&b, ", by %s %s/%s", strings.ToLower(r.DecidedBy.Kind), r.DecidedBy.Namespace, r.DecidedBy.Name)
	case r.Verdict == Denied && len(r.Applied) > 0:
		fmt.Fprintf(&b, ": no ALLOW policy matched (applied: %s)", strings.Join(r.Applied, ", "))
	case r.Verdict == Allowed && len(r.Applied) == 0:
		b.WriteString(": no ALLOW policy applies")
	}
	if r.Partial {
		b.WriteString(" — for some of its requests only: see the steps")
	}
	return b.String()
}
