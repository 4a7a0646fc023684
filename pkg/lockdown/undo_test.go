package lockdown

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/managedfields"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
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

// Undo puts back only what lockdown changed on a PeerAuthentication: labels, annotations and
// fields others added since stay.
func TestUndoKeepsLaterEdits(t *testing.T) {
	pa := createdBy("kubectl-create", permissive("shop-mtls"), "u-pa")
	pa.SetLabels(map[string]string{"team": "shop", istio.ManagedByLabel: "Helm"})
	locked := lockedDown(t, Input{Namespace: "shop", PeerAuthentications: []*unstructured.Unstructured{pa}})
	edited := locked.DeepCopy()
	edited.SetLabels(map[string]string{"team": "books", istio.ManagedByLabel: istio.ManagedByValue, "tier": "1"})
	annotations := edited.GetAnnotations()
	annotations["reviewed-by"] = "ana"
	edited.SetAnnotations(annotations)
	_ = unstructured.SetNestedField(edited.Object, "later", "spec", "note")
	edited = managedfields.Write(locked, edited, "kubectl-edit")

	plan := mustUndo(t, edited)
	restored := plan.Changes[0].After
	if got := content(t, restored); got != `{"annotations":{"owner":"shop-team","reviewed-by":"ana"},"labels":{"app.kubernetes.io/managed-by":"Helm","team":"books","tier":"1"},"spec":{"mtls":{"mode":"PERMISSIVE"},"note":"later"}}` {
		t.Errorf("restored %s", got)
	}
	if len(plan.Warnings) != 0 || plan.Changes[0].Detail != "mtls PERMISSIVE restored (was STRICT)" {
		t.Errorf("detail %q, warnings %q", plan.Changes[0].Detail, plan.Warnings)
	}
}

// When the mode changed since lockdown set STRICT, undo leaves it and says so; it still
// takes its label and record away.
func TestUndoLeavesAModeChangedSince(t *testing.T) {
	locked := lockedDown(t, Input{Namespace: "shop", PeerAuthentications: []*unstructured.Unstructured{createdBy("kubectl-create", permissive("shop-mtls"), "u-pa")}})
	edited := locked.DeepCopy()
	_ = unstructured.SetNestedField(edited.Object, "DISABLE", "spec", "mtls", "mode")
	plan := mustUndo(t, managedfields.Write(locked, edited, "kubectl-edit"))
	if got := content(t, plan.Changes[0].After); got != `{"annotations":{"owner":"shop-team"},"labels":{"team":"shop"},"spec":{"mtls":{"mode":"DISABLE"}}}` {
		t.Errorf("restored %s", got)
	}
	want := "peerauthentication/shop-mtls: mtls mode is DISABLE, changed since lockdown set it to STRICT: undo leaves it as it is (before lockdown it was PERMISSIVE; set that by hand if you want it back)"
	if strings.Join(plan.Warnings, "\n") != want || !strings.Contains(plan.Changes[0].Detail, "mtls DISABLE left as it is") {
		t.Errorf("warnings %q, detail %q", plan.Warnings, plan.Changes[0].Detail)
	}
}

// Records written by older versions hold the whole spec, labels and annotations: undo reads
// the old mode and the label from them, and keeps everything else as it is now.
func TestUndoReadsOldRecords(t *testing.T) {
	for _, tt := range []struct{ record, want string }{
		{`{"spec":{"mtls":{"mode":"PERMISSIVE"}},"labels":{"team":"shop"},"annotations":{"owner":"shop-team"}}`,
			`{"annotations":{"note":"later","owner":"shop-team"},"labels":{"team":"shop","tier":"1"},"spec":{"mtls":{"mode":"PERMISSIVE"}}}`},
		// Nothing was set before: no mode, no labels, no annotations.
		{`{}`, `{"annotations":{"note":"later","owner":"shop-team"},"labels":{"team":"shop","tier":"1"}}`},
		{`{"spec":{}}`, `{"annotations":{"note":"later","owner":"shop-team"},"labels":{"team":"shop","tier":"1"},"spec":{}}`},
	} {
		pa := permissive("shop-mtls")
		pa.SetLabels(map[string]string{"team": "shop", "tier": "1", istio.ManagedByLabel: istio.ManagedByValue})
		pa.SetAnnotations(map[string]string{"owner": "shop-team", "note": "later", RecordAnnotation: tt.record})
		_ = unstructured.SetNestedField(pa.Object, "STRICT", "spec", "mtls", "mode")
		plan := mustUndo(t, createdBy(change.FieldManager, pa, "u-old"))
		if got := content(t, plan.Changes[0].After); got != tt.want {
			t.Errorf("record %s:\n got %s\nwant %s", tt.record, got, tt.want)
		}
	}
}

// A record that is not JSON is ours but unreadable: undo says which object and what to do.
func TestUndoUnreadableRecord(t *testing.T) {
	pa := permissive("shop-mtls")
	pa.SetLabels(map[string]string{istio.ManagedByLabel: istio.ManagedByValue})
	pa.SetAnnotations(map[string]string{RecordAnnotation: "{not json"})
	_, err := Undo(Input{Namespace: "shop", PeerAuthentications: []*unstructured.Unstructured{createdBy(change.FieldManager, pa, "u")}})
	if err == nil || !strings.Contains(err.Error(), "peerauthentication/shop-mtls: annotation kubectl-mesh.dev/lockdown does not hold what lockdown recorded") || !strings.Contains(err.Error(), "restore it by hand") {
		t.Errorf("error %v", err)
	}
}

// Copies of lockdown's policies (renamed, callers edited) are the user's: undo deletes only
// what lockdown created, and a second lockdown does not take the copies for policies of
// workloads that are gone.
func TestUndoAndRerunLeaveCopies(t *testing.T) {
	allow := createdBy(change.FieldManager, newObject("AuthorizationPolicy", "shop", "kubectl-mesh-allow-gone", map[string]any{"action": "ALLOW"}), "u-1")
	deny := createdBy(change.FieldManager, denyPolicy("shop"), "u-2")
	copied := createdBy("kubectl-client-side-apply", withSpec(copyOf(allow, "kubectl-mesh-allow-gone-v2"), map[string]any{"action": "ALLOW", "rules": []any{map[string]any{}}}), "u-3")
	in := Input{Namespace: "shop", AuthorizationPolicies: []*unstructured.Unstructured{allow, deny, copied}}
	plan, err := Undo(in)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, c := range plan.Changes {
		refs = append(refs, c.Ref()+" "+c.Verb())
	}
	if got := strings.Join(refs, ", "); got != "authorizationpolicy/kubectl-mesh-default-deny deleted, authorizationpolicy/kubectl-mesh-allow-gone deleted" {
		t.Errorf("undo: %s", got)
	}
	if ours := managedPolicies(in.AuthorizationPolicies); len(ours) != 2 || ours["kubectl-mesh-allow-gone-v2"] != nil {
		t.Errorf("policies a re-run converges or deletes: %v", ours)
	}
}

func mustUndo(t *testing.T, pas ...*unstructured.Unstructured) *Plan {
	t.Helper()
	plan, err := Undo(Input{Namespace: "shop", PeerAuthentications: pas})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 1 || plan.Changes[0].After == nil {
		t.Fatalf("undo plans %+v, want one update", plan.Changes)
	}
	return plan
}

// content is what undo restores: labels, annotations and spec, as JSON.
func content(t *testing.T, obj *unstructured.Unstructured) string {
	t.Helper()
	c := map[string]any{}
	if labels := obj.GetLabels(); len(labels) > 0 {
		c["labels"] = labels
	}
	if annotations := obj.GetAnnotations(); len(annotations) > 0 {
		c["annotations"] = annotations
	}
	if spec, ok := obj.Object["spec"]; ok {
		c["spec"] = spec
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
