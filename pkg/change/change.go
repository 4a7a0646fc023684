// Package change is the one shape of a planned write: planners (canary, lockdown) emit
// Changes, the writer in pkg/mesh applies them, and commands print them. It is pure.
package change

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Change is one object to create (Before nil), update (both set: the update carries Before's
// resourceVersion, so a concurrent edit makes it conflict) or delete (After nil), with a line
// for people saying why.
type Change struct {
	Before, After *unstructured.Unstructured
	Detail        string
}

// Object is the object the change is about: After, or Before for a deletion.
func (c Change) Object() *unstructured.Unstructured {
	if c.After != nil {
		return c.After
	}
	return c.Before
}

// Ref is "kind/name" in lower case, as kubectl prints it.
func (c Change) Ref() string {
	obj := c.Object()
	return strings.ToLower(obj.GetKind()) + "/" + obj.GetName()
}

// Verb is what the change does, in kubectl's words.
func (c Change) Verb() string {
	switch {
	case c.Before == nil:
		return "created"
	case c.After == nil:
		return "deleted"
	}
	return "configured"
}

// Restore returns current with the labels, annotations and spec of previous, whole: how a
// write made moments ago is reverted when a later one fails. Everything else (status, server
// fields) stays current's. Revert puts back only what one change did.
func Restore(current, previous *unstructured.Unstructured) *unstructured.Unstructured {
	restored := current.DeepCopy()
	restored.SetLabels(previous.GetLabels())
	restored.SetAnnotations(previous.GetAnnotations())
	if spec, ok := previous.Object["spec"]; ok {
		restored.Object["spec"] = runtime.DeepCopyJSONValue(spec)
	} else {
		delete(restored.Object, "spec")
	}
	return restored
}

// ForCreate strips what the API server sets from obj, so that a deleted object can be
// created again as it was.
func ForCreate(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := obj.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	delete(out.Object, "status")
	return out
}
