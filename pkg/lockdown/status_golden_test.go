package lockdown

import (
	"bytes"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// --status of bookinfo once locked down, as the table and as -o json print it: both pinned,
// so that they stay in step as fields are added.
func TestStatusGolden(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "ns/default")})
	if err != nil {
		t.Fatal(err)
	}
	s := ComputeStatus(applyWrites(t, in, plan))
	var table, json bytes.Buffer
	if err := WriteStatus(&table, s); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/status.table", table.String())
	if err := output.PrintValue(&json, output.JSON, s); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/status.json", json.String())
}
