package graph

import (
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// Formats are the -o values.
var Formats = []string{"table", "wide", "json", "yaml", "dot", "mermaid"}

// Style says how a table may decorate: symbols only on a terminal that allows colour.
type Style struct{ Symbols bool }

// Render writes g in format.
func Render(w io.Writer, g *Graph, format string, style Style) error {
	switch format {
	case "", "table":
		return table(w, g, false, style)
	case "wide":
		return table(w, g, true, style)
	case output.JSON, output.YAML:
		return output.PrintValue(w, format, g)
	case "dot":
		return dot(w, g)
	case "mermaid":
		return mermaid(w, g)
	}
	return fmt.Errorf("unknown output format %q for -o: use one of %s", format, strings.Join(Formats, ", "))
}

func ms(v *float64) string {
	if v == nil {
		return "-"
	}
	return output.Millis(*v)
}

func percent(v float64) string { return output.Share(v) }

// mtlsMark: a lock for all mTLS, a half mark for some, an open mark for none.
func mtlsMark(e Edge, style Style) string {
	if e.MTLS == nil {
		return "-" // no destination proxy reported: unknown
	}
	share := *e.MTLS
	text := fmt.Sprintf("%.0f%%", share*100)
	if !style.Symbols {
		return text
	}
	switch {
	case share >= 0.9995:
		return "🔒 " + text
	case share <= 0.0005:
		return "🔓 " + text
	}
	return "◐ " + text
}

func rate(e Edge) string {
	if e.Protocol == "tcp" {
		return bytesRate(e.BytesPerSecond)
	}
	return fmt.Sprintf("%.2f", e.RPS)
}

func connections(e Edge) string {
	if e.Protocol != "tcp" {
		return "-"
	}
	return fmt.Sprintf("%.2f", e.ConnectionsPerSecond)
}

func bytesRate(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1fMB/s", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1fKB/s", b/(1<<10))
	}
	return fmt.Sprintf("%.0fB/s", b)
}

func table(w io.Writer, g *Graph, wide bool, style Style) error {
	if len(g.Edges) == 0 {
		_, err := fmt.Fprintf(w, "no traffic in the last %s\n", g.Window)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	header := "SOURCE\tDESTINATION\tPROTO\tRPS\tERR\t4XX\tP50\tP99\tMTLS"
	traced := slices.ContainsFunc(g.Edges, func(e Edge) bool { return e.SlowestTrace != "" })
	if wide {
		header = "SOURCE\tDESTINATION\tSERVICE\tPROTO\tRPS\tERR\t4XX\t403\tP50\tP95\tP99\tBYTES/S\tCONN/S\tMTLS\tREPORTER\tWAYPOINT"
		if traced { // graph --traces
			header += "\tSLOWEST TRACE"
		}
	}
	fmt.Fprintln(tw, header)
	var warnings []string
	for _, e := range g.Edges {
		errs, client, p50, p99 := percent(e.ErrorRate), percent(e.ClientErrorRate), ms(e.P50Ms), ms(e.P99Ms)
		if e.Protocol == "tcp" {
			errs, client = "-", "-"
		}
		mark := mtlsMark(e, style)
		if e.Warning != "" {
			mark += " !"
			warnings = append(warnings, fmt.Sprintf("! %s -> %s: %s", e.Source.Name(), e.Destination.Name(), e.Warning))
		}
		if wide {
			denied := percent(e.DeniedRate) // for TCP, the share of connections refused
			waypoint := e.Waypoint
			if waypoint == "" {
				waypoint = "-"
			}
			row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
				e.Source.Name(), e.Destination.Name(), e.Destination.Service, e.Protocol, rate(e), errs, client, denied,
				p50, ms(e.P95Ms), p99, bytesRate(e.BytesPerSecond), connections(e), mark, e.Reporter, waypoint)
			if traced {
				row += "\t" + cmp.Or(e.SlowestTrace, "-")
			}
			fmt.Fprintln(tw, row)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				e.Source.Name(), e.Destination.Name(), e.Protocol, rate(e), errs, client, p50, p99, mark)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warning := range warnings {
		fmt.Fprintln(w, warning)
	}
	if len(g.Clusters) > 0 {
		names := make([]string, len(g.Clusters))
		for i, c := range g.Clusters {
			names[i] = c.Label()
		}
		fmt.Fprintf(w, "clusters: %s\n", strings.Join(names, ", "))
	}
	return nil
}

func edgeLabel(e Edge) string {
	if e.Protocol == "tcp" {
		return bytesRate(e.BytesPerSecond)
	}
	label := fmt.Sprintf("%.2f rps", e.RPS)
	if e.ErrorRate > 0 {
		label += fmt.Sprintf(", %s err", percent(e.ErrorRate))
	}
	if e.P99Ms != nil {
		label += ", p99 " + ms(e.P99Ms)
	}
	return label
}

func nodes(g *Graph) []string {
	var names []string
	seen := map[string]bool{}
	for _, e := range g.Edges {
		for _, n := range []string{e.Source.Name(), e.Destination.Name()} {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// dot renders Graphviz: plaintext edges dashed, edges with a policy warning red.
func dot(w io.Writer, g *Graph) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph mesh {\n  label=%q;\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", "Istio traffic, last "+g.Window)
	// Graphviz draws a subgraph whose name begins with "cluster" as a box around its nodes.
	writeNodes(&b, g, func(i int, c Cluster) string {
		return fmt.Sprintf("subgraph \"cluster_%d\" {\n    label=%q;", i, c.Label())
	},
		"}", func(n string) string { return fmt.Sprintf("%q;", n) })
	for _, e := range g.Edges {
		attrs := []string{fmt.Sprintf("label=%q", edgeLabel(e))}
		if e.MTLS != nil && *e.MTLS < 1 {
			attrs = append(attrs, "style=dashed")
		}
		if e.CrossCluster {
			attrs = append(attrs, "penwidth=2")
		}
		if e.Warning != "" {
			attrs = append(attrs, "color=red", fmt.Sprintf("tooltip=%q", e.Warning))
		}
		fmt.Fprintf(&b, "  %q -> %q [%s];\n", e.Source.Name(), e.Destination.Name(), strings.Join(attrs, ", "))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

var mermaidID = regexp.MustCompile(`[^A-Za-z0-9_]`)

// mermaid renders a flowchart: plaintext edges dotted.
func mermaid(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	id := func(n string) string { return "n_" + mermaidID.ReplaceAllString(n, "_") }
	writeNodes(&b, g, func(i int, c Cluster) string { return fmt.Sprintf("subgraph cluster_%d[\"%s\"]", i, c.Label()) },
		"end", func(n string) string { return fmt.Sprintf("%s[\"%s\"]", id(n), n) })
	for _, e := range g.Edges {
		arrow := "-->"
		switch {
		case e.MTLS != nil && *e.MTLS < 1:
			arrow = "-.->"
		case e.CrossCluster:
			arrow = "==>"
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", id(e.Source.Name()), arrow, edgeLabel(e), id(e.Destination.Name()))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
