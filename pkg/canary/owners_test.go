package canary

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A route another writer holds: refused, naming it; GitOps's with --force goes ahead with a
// warning; a rollout controller's never. A status reads it without complaint.
func TestComputeLeavesRoutesOthersHold(t *testing.T) {
	ten := 10
	rollout := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "reviews", "namespace": "default"},
		"spec": map[string]any{"strategy": map[string]any{"canary": map[string]any{"trafficRouting": map[string]any{
			"istio": map[string]any{"virtualService": map[string]any{"name": "reviews"}}}}}},
	}}
	tests := []struct {
		name      string
		hold      func(in *Input)
		refusal   string
		forceable bool
	}{
		{"Argo CD", func(in *Input) {
			in.VirtualServices[0].SetAnnotations(map[string]string{"argocd.argoproj.io/tracking-id": "shop:networking.istio.io/VirtualService:default/reviews"})
		}, "VirtualService default/reviews is applied by Argo CD application shop", true},
		{"Argo Rollouts", func(in *Input) { in.Rollouts = append(in.Rollouts, rollout) }, "is driven by Argo Rollout default/reviews", false},
	}
	for _, tt := range tests {
		in := loadInput(t, "tutorial", []string{"v1", "v2", "v3"}, nil)
		tt.hold(&in)
		if _, err := Compute(in, Request{Percent: &ten}); err == nil || !strings.Contains(err.Error(), tt.refusal) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.refusal)
		}
		plan, err := Compute(in, Request{Percent: &ten, Force: true})
		switch {
		case tt.forceable && (err != nil || !strings.Contains(strings.Join(plan.Warnings, "\n"), "its next sync will revert this change")):
			t.Errorf("%s --force: %v, warnings %v", tt.name, err, plan)
		case !tt.forceable && err == nil:
			t.Errorf("%s --force: a controller's route would be changed", tt.name)
		}
		if _, err := Compute(in, Request{}); err != nil {
			t.Errorf("%s: a status refused: %v", tt.name, err)
		}
	}
}
