package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
)

// TestReportGolden renders a cluster with one problem of each kind, as a table and as JSON.
func TestReportGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/cluster.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	report := NewReport("", Check(inputOf(t, string(data))))

	var table, wide bytes.Buffer
	if err := WriteTable(&table, report, false); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/cluster.table", table.String())
	for i, line := range strings.Split(table.String(), "\n") {
		if n := utf8.RuneCountInString(line); n > 200 {
			t.Errorf("table line %d is %d columns wide, more than a terminal's 200: %q", i+1, n, line)
		}
	}
	if err := WriteTable(&wide, report, true); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/cluster.wide", wide.String())

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
	if err := WriteTable(&out, NewReport("shop", nil), false); err != nil {
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
