package doctor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// AllNamespaces is the scope of -A, as reports name it: never "", which reads as a blank.
const AllNamespaces = output.AllNamespaces

// Report is what doctor prints with -o json|yaml: the scope (a namespace, or AllNamespaces),
// each finding, and how many there are of each severity.
type Report struct {
	Scope string `json:"scope"`
	// Clusters are the clusters checked, with --contexts (those that did not answer too).
	Clusters []Cluster        `json:"clusters,omitempty"`
	Findings []Finding        `json:"findings"`
	Summary  map[Severity]int `json:"summary"`
}

// NewReport counts findings by severity; scope "" is every namespace.
func NewReport(scope string, findings []Finding) Report {
	r := Report{Scope: output.Scope(scope), Findings: findings, Summary: map[Severity]int{Error: 0, Warning: 0, Info: 0}}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range findings {
		r.Summary[f.Severity]++
	}
	return r
}

// Fails tells whether a finding reaches threshold (error, or warning: warnings and errors).
func (r Report) Fails(threshold Severity) bool {
	for _, f := range r.Findings {
		if f.Severity.Rank() <= threshold.Rank() {
			return true
		}
	}
	return false
}

// summaryWidth bounds the default table's WHY column, so that a row fits a terminal (about
// 200 columns with the others); -o wide shows why and the fix in full.
const summaryWidth = 90

// clusterSummaryWidth is summaryWidth beside a CLUSTER column (two cluster IDs wide), so
// that the row still fits.
const clusterSummaryWidth = 65

// WriteTable prints one row per finding and a summary line: with wide, WHY and FIX in full;
// otherwise WHY cut to summaryWidth.
func WriteTable(w io.Writer, r Report, wide bool) error {
	where := r.Scope
	if where != AllNamespaces {
		where = "namespace " + where
	}
	if len(r.Clusters) > 0 {
		where += " of " + listClusters(r.Clusters)
	}
	if len(r.Findings) == 0 {
		_, err := fmt.Fprintf(w, "no findings in %s\n", where)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	clusterColumn, width := "", summaryWidth
	if len(r.Clusters) > 0 {
		clusterColumn, width = "CLUSTER\t", clusterSummaryWidth
	}
	if wide {
		fmt.Fprintf(tw, "SEVERITY\tCHECK\t%sNAMESPACE\tOBJECT\tWHY\tFIX\n", clusterColumn)
	} else {
		fmt.Fprintf(tw, "SEVERITY\tCHECK\t%sNAMESPACE\tOBJECT\tWHY\n", clusterColumn)
	}
	for _, f := range r.Findings {
		if clusterColumn != "" {
			clusterColumn = clusterNames(f.Clusters) + "\t"
		}
		if wide {
			fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s/%s\t%s\t%s\n", f.Severity, f.Check, clusterColumn, f.Object.namespaceColumn(), f.Object.Kind, f.Object.Name, f.Why, f.Fix)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s/%s\t%s\n", f.Severity, f.Check, clusterColumn, f.Object.namespaceColumn(), f.Object.Kind, f.Object.Name, shorten(f.Why, width))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %s, %s, %d info\n", where, count(r.Summary[Error], "error"), count(r.Summary[Warning], "warning"), r.Summary[Info])
	if err == nil && !wide {
		_, err = fmt.Fprintln(w, "(-o wide: why in full, and how to fix each)")
	}
	return err
}

// shorten cuts s to at most width runes, at a word, marking the cut with "...".
func shorten(s string, width int) string {
	runes := []rune(s)
	if len(runes) <= width {
		return s
	}
	cut := string(runes[:width-3])
	if i := strings.LastIndexByte(cut, ' '); i > width/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,:;") + "..."
}

// namespaceColumn is what the table's NAMESPACE column shows: a Namespace's own name, "-" for
// other objects outside namespaces.
func (o Object) namespaceColumn() string {
	switch {
	case o.Namespace != "":
		return o.Namespace
	case o.Kind == "Namespace":
		return o.Name
	}
	return "-"
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
