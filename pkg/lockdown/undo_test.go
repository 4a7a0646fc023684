package lockdown

import (
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// A foreign policy labelled as ours but without lockdown's record is never deleted by undo.
func TestUndoLeavesLookalikesAlone(t *testing.T) {
	in := loadInput(t, "existing-policies", "shop")
	lookalike := in.AuthorizationPolicies[0].DeepCopy()
	lookalike.SetName("kubectl-mesh-allow-api")
	lookalike.SetLabels(map[string]string{istio.ManagedByLabel: istio.ManagedByValue})
	in.AuthorizationPolicies = append(in.AuthorizationPolicies, lookalike)
	plan, err := Undo(in)
	if err != nil || len(plan.Changes) != 0 {
		t.Errorf("undo of a namespace lockdown never touched: %v, writes %v", err, plan.Changes)
	}
}
