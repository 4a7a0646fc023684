package change

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func object(labels map[string]any, spec map[string]any) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
		"metadata": map[string]any{"name": "default", "namespace": "shop", "resourceVersion": "7", "uid": "u-1", "labels": labels},
		"status":   map[string]any{"validationMessages": []any{}},
	}}
	if spec != nil {
		obj.Object["spec"] = spec
	}
	return obj
}

func TestRestore(t *testing.T) {
	previous := object(map[string]any{"team": "shop"}, map[string]any{"mtls": map[string]any{"mode": "PERMISSIVE"}})
	current := object(map[string]any{"team": "shop", "app.kubernetes.io/managed-by": "kubectl-mesh"}, map[string]any{"mtls": map[string]any{"mode": "STRICT"}})
	current.SetResourceVersion("9")
	restored := Restore(current, previous)
	if !equality.Semantic.DeepEqual(restored.Object["spec"], previous.Object["spec"]) || !equality.Semantic.DeepEqual(restored.GetLabels(), previous.GetLabels()) {
		t.Errorf("restored %v, want the spec and labels of %v", restored.Object, previous.Object)
	}
	if restored.GetResourceVersion() != "9" {
		t.Errorf("restored resourceVersion %s: the update must carry the current one", restored.GetResourceVersion())
	}
	// Restored, then changed: previous must not share the change.
	restored.Object["spec"].(map[string]any)["mtls"].(map[string]any)["mode"] = "DISABLE"
	if mode, _, _ := unstructured.NestedString(previous.Object, "spec", "mtls", "mode"); mode != "PERMISSIVE" {
		t.Errorf("Restore shares storage with previous: its mode became %s", mode)
	}
	// A previous object without a spec restores without one.
	if _, has := Restore(current, object(nil, nil)).Object["spec"]; has {
		t.Error("restoring a spec-less object kept the current spec")
	}
}

func TestChangeVerbRefAndForCreate(t *testing.T) {
	obj := object(nil, map[string]any{})
	for _, tt := range []struct {
		c    Change
		verb string
	}{{Change{After: obj}, "created"}, {Change{Before: obj, After: obj}, "configured"}, {Change{Before: obj}, "deleted"}} {
		if tt.c.Verb() != tt.verb || tt.c.Ref() != "peerauthentication/default" {
			t.Errorf("%+v: %s %s", tt.c, tt.c.Verb(), tt.c.Ref())
		}
	}
	fresh := ForCreate(obj)
	if fresh.GetResourceVersion() != "" || fresh.GetUID() != "" || fresh.Object["status"] != nil || obj.GetResourceVersion() != "7" {
		t.Errorf("ForCreate: %v (original %v)", fresh.Object, obj.Object)
	}
}

// SetBy reads the owners the API server recorded, field by field; status writes and other
// managers do not count.
func TestSetBy(t *testing.T) {
	obj := object(nil, nil)
	obj.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kubectl-create", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:annotations":{".":{},"f:copied":{}}}}`)}},
		{Manager: FieldManager, Subresource: "status", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:annotations":{"f:status-only":{}}}}`)}},
		{Manager: FieldManager, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:annotations":{"f:ours":{}}},"f:spec":{"f:mtls":{"f:mode":{}}}}`)}},
		{Manager: FieldManager, FieldsV1: &metav1.FieldsV1{Raw: []byte(`"not a field set"`)}},
	})
	for _, tt := range []struct {
		path []string
		want bool
	}{
		{[]string{"metadata", "annotations", "ours"}, true},
		{[]string{"spec", "mtls", "mode"}, true},
		{[]string{"metadata", "annotations", "copied"}, false},
		{[]string{"metadata", "annotations", "status-only"}, false},
		{[]string{"metadata", "labels", "ours"}, false},
	} {
		if got := SetBy(obj, FieldManager, tt.path...); got != tt.want {
			t.Errorf("SetBy(%v) = %t, want %t", tt.path, got, tt.want)
		}
	}
}

// Revert puts back what one change did and keeps what anyone did since, field by field.
func TestRevert(t *testing.T) {
	before := object(map[string]any{"team": "shop", "app.kubernetes.io/managed-by": "Helm"}, map[string]any{"mtls": map[string]any{"mode": "PERMISSIVE"}})
	after := object(map[string]any{"team": "shop", "app.kubernetes.io/managed-by": "kubectl-mesh"}, map[string]any{"mtls": map[string]any{"mode": "STRICT"}})
	after.SetAnnotations(map[string]string{"record": "r"})
	for _, tt := range []struct {
		name     string
		edit     func(current *unstructured.Unstructured)
		want     string
		wantKept string
	}{
		{"untouched since", func(*unstructured.Unstructured) {},
			`{"labels":{"app.kubernetes.io/managed-by":"Helm","team":"shop"},"spec":{"mtls":{"mode":"PERMISSIVE"}}}`, ""},
		{"others added labels, annotations and fields", func(c *unstructured.Unstructured) {
			c.SetLabels(map[string]string{"team": "books", "app.kubernetes.io/managed-by": "kubectl-mesh", "tier": "1"})
			c.SetAnnotations(map[string]string{"record": "r", "owner": "ana"})
			_ = unstructured.SetNestedField(c.Object, "x", "spec", "extra")
		}, `{"annotations":{"owner":"ana"},"labels":{"app.kubernetes.io/managed-by":"Helm","team":"books","tier":"1"},"spec":{"extra":"x","mtls":{"mode":"PERMISSIVE"}}}`, ""},
		{"the mode changed since", func(c *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(c.Object, "DISABLE", "spec", "mtls", "mode")
		}, `{"labels":{"app.kubernetes.io/managed-by":"Helm","team":"shop"},"spec":{"mtls":{"mode":"DISABLE"}}}`, "spec.mtls.mode"},
		{"the spec replaced by a value", func(c *unstructured.Unstructured) {
			c.Object["spec"] = "odd"
		}, `{"labels":{"app.kubernetes.io/managed-by":"Helm","team":"shop"},"spec":"odd"}`, "spec"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			current := after.DeepCopy()
			tt.edit(current)
			restored, kept := Revert(current, before, after)
			if got := content(t, restored); got != tt.want || strings.Join(kept, ",") != tt.wantKept {
				t.Errorf("got %s, kept %v\nwant %s, kept %s", got, kept, tt.want, tt.wantKept)
			}
			if restored.GetResourceVersion() != current.GetResourceVersion() || restored.Object["status"] == nil {
				t.Errorf("Revert changed what it does not own: %v", restored.Object)
			}
		})
	}
}

// Maps the change created go when nothing else is left in them; maps it emptied come back.
func TestRevertCreatedAndRemovedMaps(t *testing.T) {
	before := object(nil, nil)
	after := object(map[string]any{"app.kubernetes.io/managed-by": "kubectl-mesh"}, map[string]any{"mtls": map[string]any{"mode": "STRICT"}})
	restored, kept := Revert(after.DeepCopy(), before, after)
	if got := content(t, restored); got != `{}` || len(kept) > 0 {
		t.Errorf("made by the change, then reverted: %s, kept %v", got, kept)
	}
	current := after.DeepCopy()
	_ = unstructured.SetNestedField(current.Object, "8080", "spec", "mtls", "note")
	if got, _ := Revert(current, before, after); content(t, got) != `{"spec":{"mtls":{"note":"8080"}}}` {
		t.Errorf("another's field in a map the change made: %s", content(t, got))
	}
	// The change removed a map: it comes back, unless someone set the field since.
	restored, _ = Revert(before.DeepCopy(), after, before)
	if got := content(t, restored); got != `{"labels":{"app.kubernetes.io/managed-by":"kubectl-mesh"},"spec":{"mtls":{"mode":"STRICT"}}}` {
		t.Errorf("removed, then reverted: %s", got)
	}
	// Numbers read from JSON (float64) equal the API server's (int64).
	current = object(nil, map[string]any{"port": int64(8080)})
	restored, kept = Revert(current, object(nil, map[string]any{"port": float64(9090)}), object(nil, map[string]any{"port": float64(8080)}))
	if got := content(t, restored); got != `{"spec":{"port":9090}}` || len(kept) > 0 {
		t.Errorf("numbers: %s, kept %v", got, kept)
	}
}

func content(t *testing.T, obj *unstructured.Unstructured) string {
	t.Helper()
	c := map[string]any{}
	for _, k := range []string{"labels", "annotations"} {
		if v, ok := obj.Object["metadata"].(map[string]any)[k]; ok && v != nil {
			c[k] = v
		}
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
