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
	if !equality.Semantic.DeepEqual(plan.Route.Object, in.VirtualServices[0].Object) {
		t.Error("status changed the VirtualService")
	}
	want := []Backend{{Name: "v1", Labels: map[string]string{"version": "v1"}, Version: "v1", Pods: 1, ReadyPods: 1}, {Name: "v2", Labels: map[string]string{"version": "v2"}, Version: "v2", Pods: 1, ReadyPods: 1}, {Name: "v3", Labels: map[string]string{"version": "v3"}, Version: "v3", Pods: 1, ReadyPods: 0}}
	if !equality.Semantic.DeepEqual(plan.Backends, want) {
		t.Errorf("subsets = %+v, want %+v", plan.Backends, want)
	}
	// No VirtualService: a status with nothing to show, not an error.
	plan, err = Compute(loadInput(t, "no-virtualservice", allReady, nil), Request{})
	if err != nil || plan.Route != nil || len(plan.Backends) != 3 {
		t.Errorf("status without VirtualService: %+v, %v", plan, err)
	}
}
