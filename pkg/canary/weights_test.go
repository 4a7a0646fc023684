package canary

import (
	"strings"
	"testing"
)

// Istio's weights are relative: v1 3, v2 1 sends 75% and 25%. The status says so, and a
// step writes percentages.
func TestRelativeWeights(t *testing.T) {
	in := loadInput(t, "tutorial", allReady, nil)
	virtualServiceAPI.rulesOf(in.VirtualServices[0])[0]["route"] = []any{
		map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}, "weight": int64(3)},
		map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v2"}, "weight": int64(1)},
	}
	status, err := Compute(in, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatWeights(status.After); got != "v1 75%, v2 25%" {
		t.Errorf("status reads %s, want v1 75%%, v2 25%%", got)
	}
	var table strings.Builder
	if err := WriteStatus(&table, status, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "v1       stable   75%") || !strings.Contains(table.String(), "v2       canary   25%") {
		t.Errorf("status table:\n%s", table.String())
	}

	step, err := Compute(in, Request{Percent: percent(30)})
	if err != nil {
		t.Fatal(err)
	}
	if got := step.Summary(); got != "reviews: v1 70%, v2 30% (was v1 75%, v2 25%)" {
		t.Errorf("summary %q", got)
	}
	var raw []int64
	for _, d := range virtualServiceAPI.destinations(virtualServiceAPI.rulesOf(step.Route)[0], reviews) {
		raw = append(raw, d.weight)
	}
	if len(raw) != 2 || raw[0] != 70 || raw[1] != 30 {
		t.Errorf("written weights %v, want [70 30]", raw)
	}
}
