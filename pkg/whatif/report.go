package whatif

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// Report is what what-if prints: the change, what was replayed, and the observed edges whose
// verdict it changes (-o json and yaml print it as it is).
type Report struct {
	// Scope names what was replayed as every report names it: the namespace, several
	// joined with commas, or "all namespaces" for a change to mesh-wide policy.
	Scope  string `json:"scope"`
	Window string `json:"window"`
	// Namespaces are those whose incoming edges were replayed.
	Namespaces []string `json:"namespaces"`
	Changes    []Step   `json:"changes"`
	Replayed   int      `json:"replayed"`
	Summary    Summary  `json:"summary"`
	Edges      []Edge   `json:"edges"`
	// Clusters are the clusters of a multi-cluster mesh replayed (--contexts), each with what
	// the change does there; absent for one cluster.
	Clusters []ClusterStatus `json:"clusters,omitempty"`
}

// Summary counts the edges by change.
type Summary struct {
	NewlyDenied  int `json:"newlyDenied"`
	NewlyAllowed int `json:"newlyAllowed"`
	Mixed        int `json:"mixed"`
}

// NewReport puts a replay's result in a report; all says the namespaces are every one.
func NewReport(window string, namespaces []string, all bool, steps []Step, r Result) Report {
	rep := Report{Scope: strings.Join(namespaces, ", "), Window: window, Namespaces: namespaces, Changes: steps, Replayed: r.Replayed, Edges: r.Edges}
	if all {
		rep.Scope = output.AllNamespaces
	}
	if rep.Changes == nil {
		rep.Changes = []Step{}
	}
	if rep.Edges == nil {
		rep.Edges = []Edge{} // "edges": [], never null
	}
	for _, e := range r.Edges {
		switch e.Change {
		case NewlyDenied:
			rep.Summary.NewlyDenied++
		case NewlyAllowed:
			rep.Summary.NewlyAllowed++
		case Mixed:
			rep.Summary.Mixed++
		}
	}
	return rep
}

// Breaks reports whether some observed traffic would be denied, all or some of it.
func (r Report) Breaks() bool { return r.Summary.NewlyDenied+r.Summary.Mixed > 0 }

// Opens reports whether some observed caller would be let in where it is denied today.
func (r Report) Opens() bool { return r.Summary.NewlyAllowed+r.Summary.Mixed > 0 }

// WriteTable prints the report for people: the change, what was replayed, one row per edge
// whose verdict changes.
func WriteTable(w io.Writer, r Report) error {
	fmt.Fprintf(w, "change: %s\n", stepsText(r.Changes))
	scope := r.Scope
	if scope != output.AllNamespaces {
		scope = output.Abbreviate(r.Namespaces, 4)
	}
	fmt.Fprintf(w, "replayed %d %s seen into %s over %s: %s\n", r.Replayed, plural(r.Replayed, "edge"), scope, r.Window, r.Summary)
	writeClusters(w, r.Clusters)
	if len(r.Edges) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cluster := func(Edge) string { return "" }
	if len(r.Clusters) > 0 {
		// Each edge is decided by its destination cluster's policies: the column says which.
		cluster = func(e Edge) string { return e.clusterOf() + "\t" }
		fmt.Fprint(tw, "CLUSTER\t")
	}
	fmt.Fprintln(tw, "CHANGE\tSOURCE\tDESTINATION\tPROTOCOL\tREQUESTS\tBEFORE\tAFTER\tAT\tDECIDED BY (AFTER)")
	plaintext := false
	for _, e := range r.Edges {
		requests := fmt.Sprint(e.Requests)
		if e.Refused > 0 {
			requests += fmt.Sprintf(" (%d refused)", e.Refused)
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cluster(e), strings.ReplaceAll(e.Change, "-", " "), e.Source, e.Destination,
			e.Protocol, requests, e.Before, e.After, orUnset(e.EnforcedAt, "-"), e.decider())
		plaintext = plaintext || !e.MTLS
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if plaintext {
		fmt.Fprintln(w, "\nA caller without mTLS is named by its destination only: telemetry learns nothing of it.")
	}
	return nil
}

var pastTense = map[string]string{"create": "created", "replace": "replaced", "delete": "deleted"}

func (s Summary) String() string {
	if s == (Summary{}) {
		return "no verdict changes"
	}
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{s.NewlyDenied, "newly denied"}, {s.Mixed, "partly newly denied, partly newly allowed"}, {s.NewlyAllowed, "newly allowed"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return strings.Join(parts, ", ")
}

// decider names what decides after the change, in a table's width.
func (e Edge) decider() string {
	by := e.DecidedBy
	switch {
	case by != nil && by.Rule != nil:
		return fmt.Sprintf("%s %s/%s rule %d", strings.ToLower(by.Kind), by.Namespace, by.Name, *by.Rule)
	case by != nil:
		return fmt.Sprintf("%s %s/%s", strings.ToLower(by.Kind), by.Namespace, by.Name)
	case e.After == Denied:
		return "no ALLOW rule matches"
	case e.After == Allowed:
		return "no policy applies"
	}
	return "-"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// writeClusters says, for a multi-cluster replay, how many edges each cluster replayed, and
// what the change does there when that differs between clusters.
func writeClusters(w io.Writer, clusters []ClusterStatus) {
	for _, c := range clusters {
		line := fmt.Sprintf("  %s: %d %s replayed", c.Name(), c.Replayed, plural(c.Replayed, "edge"))
		if c.Note != "" {
			line = fmt.Sprintf("  %s: %s", c.Name(), c.Note)
		} else if !slices.Equal(c.Changes, clusters[0].Changes) {
			line += ", change there: " + orUnset(stepsText(c.Changes), "nothing")
		}
		fmt.Fprintln(w, line)
	}
}

func stepsText(steps []Step) string {
	words := make([]string, len(steps))
	for i, s := range steps {
		words[i] = fmt.Sprintf("%s %s/%s %s", strings.ToLower(s.Kind), s.Namespace, s.Name, pastTense[s.Action])
	}
	return output.Abbreviate(words, 6)
}
