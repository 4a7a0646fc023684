package why

import (
	"bytes"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// The report of a request a policy decides, as the table and as -o json print it: both
// pinned, so that they stay in step as fields are added.
func TestReportGolden(t *testing.T) {
	var tt explainCase
	for _, c := range authorizationCases() {
		if c.decided != "" && !c.ambient { // a rule decides, at a sidecar
			tt = c
			break
		}
	}
	in := bookinfo(t, tt.ambient)
	if tt.mutate != nil {
		tt.mutate(t, &in)
	}
	r := Explain(in)
	var text, json bytes.Buffer
	if err := WriteText(&text, r, in.Request); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/report.table", text.String())
	if err := output.PrintValue(&json, output.JSON, r); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/report.json", json.String())
}
