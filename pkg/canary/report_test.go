package canary

import (
	"bytes"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// The status of a canary in progress, with live figures for two of its versions, as the table
// and as the report -o json prints: both pinned, so that they stay in step.
func TestStatusGolden(t *testing.T) {
	in := loadInput(t, "canary-in-progress", []string{"v1", "v2"}, []string{"v3"})
	p, err := Compute(in, Request{})
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]Figures{
		"v1": {RPS: 9.6, Requests: 576, ErrorRate: 0, P99Ms: 20, HasP99: true},
		"v2": {RPS: 2.4, Requests: 144, ErrorRate: 0.306},
	}
	var table, json bytes.Buffer
	if err := WriteStatus(&table, p, live); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/status.table", table.String())
	if err := output.PrintValue(&json, output.JSON, p.Report(live)); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/status.json", json.String())
}
