package canary

import (
	"strings"
	"testing"
)

// A record whose subsets are gone from the route is set aside with a warning.
func TestComputeStaleRecord(t *testing.T) {
	in := loadInput(t, "canary-in-progress", allReady, nil)
	in.VirtualServices[0].SetAnnotations(map[string]string{RecordAnnotation: `{"#0":{"stable":"v1","canary":"v3"}}`})
	plan, err := Compute(in, Request{Percent: percent(20)})
	if err != nil {
		t.Fatal(err)
	}
	// No record: v2 carries most weight (60), so it is stable and v1 the canary.
	if plan.Stable != "v2" || plan.Canary != "v1" || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "judging roles by weight") {
		t.Errorf("stable=%s canary=%s warnings=%q", plan.Stable, plan.Canary, plan.Warnings)
	}
}
