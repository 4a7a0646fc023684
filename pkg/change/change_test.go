package change

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
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
