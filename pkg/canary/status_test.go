package canary

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
)

// Status asks for nothing and changes nothing.
func TestComputeStatus(t *testing.T) {
	in := loadInput(t, "canary-in-progress", []string{"v1", "v2"}, []string{"v3"})
	plan, err := Compute(in, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Changed || !plan.InProgress || plan.Stable != "v1" || plan.Canary != "v2" || FormatWeights(plan.After) != "v1 40%, v2 60%" {
		t.Errorf("status plan: %+v", plan)
	}
	if !equality.Semantic.DeepEqual(plan.VirtualService.Object, in.VirtualServices[0].Object) {
		t.Error("status changed the VirtualService")
	}
	want := []Subset{{"v1", map[string]string{"version": "v1"}, 1, 1}, {"v2", map[string]string{"version": "v2"}, 1, 1}, {"v3", map[string]string{"version": "v3"}, 1, 0}}
	if !equality.Semantic.DeepEqual(plan.Subsets, want) {
		t.Errorf("subsets = %+v, want %+v", plan.Subsets, want)
	}
	// No VirtualService: a status with nothing to show, not an error.
	plan, err = Compute(loadInput(t, "no-virtualservice", allReady, nil), Request{})
	if err != nil || plan.VirtualService != nil || len(plan.Subsets) != 3 {
		t.Errorf("status without VirtualService: %+v, %v", plan, err)
	}
}
