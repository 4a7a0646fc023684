package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
)

// TestReportGolden renders a cluster with one problem of each kind, as a table and as JSON.
func TestReportGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/cluster.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	report := NewReport("", Check(inputOf(t, string(data))))

	var table bytes.Buffer
	if err := WriteTable(&table, report); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/cluster.table", table.String())

	out, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/cluster.json", string(out)+"\n")

	checks := map[string]bool{}
	for _, f := range report.Findings {
		checks[f.Check] = true
	}
	for _, check := range []string{CheckVersion, CheckOps, CheckRevision, CheckStateful, CheckResources, CheckSidecar, CheckInjection, CheckMTLS} {
		if !checks[check] {
			t.Errorf("the layout trips no %s finding", check)
		}
	}
}

func TestReportFails(t *testing.T) {
	warning := NewReport("shop", []Finding{{Severity: Warning}, {Severity: Info}})
	for _, tt := range []struct {
		report    Report
		threshold Severity
		want      bool
	}{
		{warning, Error, false},
		{warning, Warning, true},
		{warning, Info, true},
		{NewReport("shop", []Finding{{Severity: Info}}), Warning, false},
		{NewReport("shop", nil), Info, false},
		{NewReport("", []Finding{{Severity: Error}}), Error, true},
	} {
		if got := tt.report.Fails(tt.threshold); got != tt.want {
			t.Errorf("Fails(%s) on %v = %v, want %v", tt.threshold, tt.report.Summary, got, tt.want)
		}
	}
}

func TestEmptyReport(t *testing.T) {
	var out bytes.Buffer
	if err := WriteTable(&out, NewReport("shop", nil)); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "no findings in namespace shop\n"; got != want {
		t.Errorf("table = %q, want %q", got, want)
	}
	data, _ := json.Marshal(NewReport("shop", nil))
	if got, want := string(data), `{"scope":"shop","findings":[],"summary":{"error":0,"info":0,"warning":0}}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
}
