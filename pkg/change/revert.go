package change

import (
	"encoding/json"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Revert returns current with what one change did put back, and nothing else: each field
// (under metadata.labels, metadata.annotations and spec) whose value after differs from
// before's is set back to before's, or removed where before lacks it, wherever current still
// holds after's value. A field changed again since is left as current has it and named in
// kept ("spec.mtls.mode"); fields the change did not touch stay current's, whoever set them.
// before and after need hold only the fields the change touched.
func Revert(current, before, after *unstructured.Unstructured) (restored *unstructured.Unstructured, kept []string) {
	restored = current.DeepCopy()
	tree := revertMap(project(restored), project(before), project(after), "", &kept)
	metadata, _ := tree["metadata"].(map[string]any)
	for _, key := range []string{"labels", "annotations"} {
		if value, ok := metadata[key]; ok {
			_ = unstructured.SetNestedField(restored.Object, value, "metadata", key)
		} else {
			unstructured.RemoveNestedField(restored.Object, "metadata", key)
		}
	}
	if spec, ok := tree["spec"]; ok {
		restored.Object["spec"] = spec
	} else {
		delete(restored.Object, "spec")
	}
	return restored, kept
}

// project copies the fields Revert works on: {"metadata": {labels, annotations}, spec}.
func project(obj *unstructured.Unstructured) map[string]any {
	metadata := map[string]any{}
	for _, key := range []string{"labels", "annotations"} {
		// An empty map is no labels: the API server does not keep it either.
		if value, _, _ := unstructured.NestedFieldCopy(obj.Object, "metadata", key); value != nil {
			if m, ok := value.(map[string]any); !ok || len(m) > 0 {
				metadata[key] = value
			}
		}
	}
	tree := map[string]any{"metadata": metadata}
	if spec, ok := obj.Object["spec"]; ok {
		tree["spec"] = runtime.DeepCopyJSONValue(spec)
	}
	return tree
}

// revertMap reverts, in current (which it changes and returns), the keys where before and
// after differ. Maps are walked into; anything else (strings, numbers, lists) is one value.
func revertMap(current, before, after map[string]any, path string, kept *[]string) map[string]any {
	if current == nil {
		current = map[string]any{}
	}
	both := map[string]any{}
	maps.Copy(both, before)
	maps.Copy(both, after)
	for _, k := range slices.Sorted(maps.Keys(both)) {
		b, bok := before[k]
		a, aok := after[k]
		c, cok := current[k]
		if bok == aok && sameJSON(b, a) {
			continue // the change left it alone
		}
		bm, bMap := b.(map[string]any)
		am, aMap := a.(map[string]any)
		cm, cMap := c.(map[string]any)
		if (bMap || aMap) && (bMap || !bok) && (aMap || !aok) && (cMap || !cok) {
			inner := revertMap(cm, bm, am, path+k+".", kept)
			if len(inner) == 0 && !bok {
				delete(current, k) // the change made it, and nothing else is in it now
			} else {
				current[k] = inner
			}
			continue
		}
		switch {
		case cok == bok && (!cok || sameJSON(c, b)):
			// already as before
		case cok == aok && (!cok || sameJSON(c, a)):
			if bok {
				current[k] = runtime.DeepCopyJSONValue(b)
			} else {
				delete(current, k)
			}
		default:
			*kept = append(*kept, path+k)
		}
	}
	return current
}

// sameJSON compares values as JSON: a number read from a record (float64) equals the same
// number read from the API server (int64).
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
