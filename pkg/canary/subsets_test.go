package canary

import (
	"strings"
	"testing"

	apinetworking "istio.io/api/networking/v1alpha3"
)

// Istio merges the DestinationRules of one namespace for one host: a subset defined in the
// second rule is as good as one in the first, and the status lists them all.
func TestMergedDestinationRules(t *testing.T) {
	in := loadInput(t, "tutorial", allReady, nil)
	second := in.DestinationRules[0].DeepCopy()
	second.Name = "reviews-v3"
	second.CreationTimestamp.Time = second.CreationTimestamp.Add(3600e9)
	second.Spec.Subsets = []*apinetworking.Subset{{Name: "v3", Labels: map[string]string{"version": "v3"}}, {Name: "v1", Labels: map[string]string{"version": "other"}}}
	in.DestinationRules[0].Spec.Subsets = in.DestinationRules[0].Spec.Subsets[:2] // v1, v2
	in.DestinationRules = append(in.DestinationRules, second)

	plan, err := Compute(in, Request{Percent: percent(20), Canary: "v3"})
	if err != nil {
		t.Fatalf("a subset of the second DestinationRule: %v", err)
	}
	if got := FormatWeights(plan.After); got != "v1 80%, v3 20%" {
		t.Errorf("weights %s", got)
	}
	if names := strings.Join(backendNames(plan.Backends), ","); names != "v1,v2,v3" {
		t.Errorf("merged subsets %s, want v1,v2,v3 (v1 of the newer rule ignored)", names)
	}
	if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "subset v1 of DestinationRule reviews-v3 is ignored") {
		t.Errorf("warnings %q", plan.Warnings)
	}
	var status strings.Builder
	if err := WriteStatus(&status, plan, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"subsets from DestinationRules reviews, reviews-v3 (merged", "v3       canary   20%      1/1"} {
		if !strings.Contains(status.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, status.String())
		}
	}
}
