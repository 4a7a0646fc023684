// Package managedfields gives plain objects in tests the managedFields the API server would
// record for a write, so that code deciding ownership from them is tested without a server.
// Only what our writes touch is modelled: metadata.labels, metadata.annotations and spec,
// maps walked into, anything else one field.
package managedfields

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Write returns after as the API server stores it once manager has written it over before
// (nil: a create): manager owns the fields it set or changed, which other managers lose, and
// fields after no longer has are owned by no one.
func Write(before, after *unstructured.Unstructured, manager string) *unstructured.Unstructured {
	stored := after.DeepCopy()
	var old map[string]any
	entries := after.GetManagedFields()
	if before != nil {
		old = tree(before)
		if len(entries) == 0 {
			entries = before.GetManagedFields()
		}
	}
	now := leaves(tree(after), "")
	was := leaves(old, "")
	var changed []string
	for path, value := range now {
		if previous, ok := was[path]; !ok || !same(previous, value) {
			changed = append(changed, path)
		}
	}
	var out []metav1.ManagedFieldsEntry
	ours := false
	for _, e := range entries {
		set := decode(e.FieldsV1)
		for path := range set {
			if _, still := now[path]; !still || slices.Contains(changed, path) && e.Manager != manager {
				delete(set, path)
			}
		}
		if e.Manager == manager && e.Subresource == "" {
			ours = true
			for _, path := range changed {
				set[path] = true
			}
		}
		if len(set) > 0 {
			e.FieldsV1 = encode(set)
			out = append(out, e)
		}
	}
	if !ours && len(changed) > 0 {
		set := map[string]bool{}
		for _, path := range changed {
			set[path] = true
		}
		out = append(out, metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: after.GetAPIVersion(), FieldsType: "FieldsV1", FieldsV1: encode(set)})
	}
	stored.SetManagedFields(out)
	return stored
}

func tree(obj *unstructured.Unstructured) map[string]any {
	metadata := map[string]any{}
	for _, key := range []string{"labels", "annotations"} {
		if value, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, "metadata", key); ok {
			metadata[key] = value
		}
	}
	t := map[string]any{"metadata": metadata}
	if spec, ok := obj.Object["spec"]; ok {
		t["spec"] = spec
	}
	return t
}

// leaves are the fields of t by path ("metadata\x00labels\x00app"): maps walked into.
func leaves(t map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range t {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			maps.Copy(out, leaves(m, prefix+k+"\x00"))
			continue
		}
		out[prefix+k] = v
	}
	return out
}

func same(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func decode(f *metav1.FieldsV1) map[string]bool {
	set := map[string]bool{}
	if f == nil {
		return set
	}
	var fields map[string]any
	_ = json.Unmarshal(f.Raw, &fields)
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			name, ok := strings.CutPrefix(k, "f:")
			if !ok {
				continue
			}
			child, _ := v.(map[string]any)
			if len(child) == 0 {
				set[prefix+name] = true
			} else {
				walk(child, prefix+name+"\x00")
			}
		}
	}
	walk(fields, "")
	return set
}

func encode(set map[string]bool) *metav1.FieldsV1 {
	root := map[string]any{}
	for path := range set {
		m := root
		for _, name := range strings.Split(path, "\x00") {
			child, ok := m["f:"+name].(map[string]any)
			if !ok {
				child = map[string]any{}
				m["f:"+name] = child
			}
			m = child
		}
	}
	raw, _ := json.Marshal(root)
	return &metav1.FieldsV1{Raw: raw}
}
