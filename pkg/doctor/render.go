package doctor

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Report is what doctor prints with -o json: the scope ("" for every namespace), each
// finding, and how many there are of each severity.
type Report struct {
	Scope    string           `json:"scope"`
	Findings []Finding        `json:"findings"`
	Summary  map[Severity]int `json:"summary"`
}

// NewReport counts findings by severity.
func NewReport(scope string, findings []Finding) Report {
	r := Report{Scope: scope, Findings: findings, Summary: map[Severity]int{Error: 0, Warning: 0, Info: 0}}
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

// WriteTable prints one row per finding and a summary line.
func WriteTable(w io.Writer, r Report) error {
	where := "namespace " + r.Scope
	if r.Scope == "" {
		where = "all namespaces"
	}
	if len(r.Findings) == 0 {
		_, err := fmt.Fprintf(w, "no findings in %s\n", where)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tCHECK\tNAMESPACE\tOBJECT\tWHY\tFIX")
	for _, f := range r.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\t%s\t%s\n", f.Severity, f.Check, f.Object.namespaceColumn(), f.Object.Kind, f.Object.Name, f.Why, f.Fix)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %s, %s, %d info\n", where, count(r.Summary[Error], "error"), count(r.Summary[Warning], "warning"), r.Summary[Info])
	return err
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
