package lockdown

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-mesh/kubectl-mesh/internal/managedfields"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

// createdBy is obj as the API server stores it when manager creates it.
func createdBy(manager string, obj *unstructured.Unstructured, uid string) *unstructured.Unstructured {
	stored := managedfields.Write(nil, obj, manager)
	stored.SetUID(types.UID(uid))
	return stored
}

// copyOf is obj as a user copies it: kubectl get -o yaml (no managedFields, no UID), renamed.
func copyOf(obj *unstructured.Unstructured, name string) *unstructured.Unstructured {
	c := change.ForCreate(obj)
	c.SetName(name)
	return c
}

// What lockdown created is ours; a copy carrying the same label and record is not, however
// it was made, and neither is an object whose label or record is gone.
func TestOwnership(t *testing.T) {
	ours := createdBy(change.FieldManager, newObject("AuthorizationPolicy", "shop", "kubectl-mesh-allow-api", map[string]any{}), "u-1")
	withoutLabel := ours.DeepCopy()
	withoutLabel.SetLabels(nil)
	forged := ours.DeepCopy() // kubectl get --show-managed-fields, renamed, created: carries our entry
	forged.SetName("api-copy")
	edited := managedfields.Write(ours, withSpec(ours, map[string]any{"action": "ALLOW"}), "kubectl-edit")
	for _, tt := range []struct {
		name string
		obj  *unstructured.Unstructured
		want bool
	}{
		{"created by lockdown", ours, true},
		{"ours, edited by someone since", edited, true},
		{"copied, then kubectl create", createdBy("kubectl-create", copyOf(ours, "api-copy"), "u-2"), false},
		{"copied, then kubectl apply", createdBy("kubectl-client-side-apply", copyOf(ours, "api-copy"), "u-3"), false},
		{"copied, then kubectl apply --server-side", createdBy("kubectl", copyOf(ours, "api-copy"), "u-4"), false},
		{"no managedFields at all", copyOf(ours, "api-copy"), false},
		{"our label removed", withoutLabel, false},
		{"copied with its managedFields", forged, true}, // a limit: managedFields can be written by hand
	} {
		if got := isOurs(tt.obj); got != tt.want {
			t.Errorf("%s: isOurs = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func withSpec(obj *unstructured.Unstructured, spec map[string]any) *unstructured.Unstructured {
	out := obj.DeepCopy()
	out.Object["spec"] = spec
	return out
}

// A PeerAuthentication lockdown changed is ours to restore by its record, which names it; a
// copy of it (another UID, or written by someone else) is not, and lockdown records it anew.
func TestOwnershipOfAChangedPeerAuthentication(t *testing.T) {
	in := Input{Namespace: "shop", PeerAuthentications: []*unstructured.Unstructured{createdBy("kubectl-create", permissive("shop-mtls"), "u-pa")}}
	changed := lockedDown(t, in)
	if _, ok := ourRecord(changed); !ok {
		t.Fatalf("the PeerAuthentication lockdown changed is not ours: %v", changed.Object)
	}
	copied := createdBy("kubectl-create", copyOf(changed, "shop-mtls-copy"), "u-copy")
	sameWriterOtherUID := changed.DeepCopy()
	sameWriterOtherUID.SetUID("u-other")
	for name, obj := range map[string]*unstructured.Unstructured{"a copy": copied, "a copy with our managedFields": sameWriterOtherUID} {
		if _, ok := ourRecord(obj); ok {
			t.Errorf("%s is ours", name)
		}
	}
	// Locked down again (mode changed back meanwhile): the copy's record is replaced by ours.
	_ = unstructured.SetNestedField(copied.Object, "PERMISSIVE", "spec", "mtls", "mode")
	c, _, err := peerAuthenticationChange(Input{Namespace: "shop", PeerAuthentications: []*unstructured.Unstructured{copied}})
	if err != nil {
		t.Fatal(err)
	}
	if record := c.After.GetAnnotations()[RecordAnnotation]; !strings.Contains(record, `"uid":"u-copy"`) {
		t.Errorf("record on the copy: %s", record)
	}
}

// permissive is a namespace-wide PeerAuthentication as a team writes it.
func permissive(name string) *unstructured.Unstructured {
	pa := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
		"metadata": map[string]any{"name": name, "namespace": "shop", "labels": map[string]any{"team": "shop"}, "annotations": map[string]any{"owner": "shop-team"}},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "PERMISSIVE"}},
	}}
	pa.SetCreationTimestamp(metav1.Unix(1, 0))
	return pa
}

// lockedDown is in's namespace-wide PeerAuthentication once lockdown has set it STRICT.
func lockedDown(t *testing.T, in Input) *unstructured.Unstructured {
	t.Helper()
	c, _, err := peerAuthenticationChange(in)
	if err != nil || c == nil || c.Before == nil {
		t.Fatalf("lockdown of the PeerAuthentication: %+v, %v", c, err)
	}
	return managedfields.Write(c.Before, c.After, change.FieldManager)
}
