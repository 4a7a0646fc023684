package change

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FieldManager is the name every write of ours carries: the API server records it in
// managedFields as the owner of the fields the write set.
const FieldManager = "kubectl-mesh"

// SetBy reports whether the API server records manager as an owner of the field at path
// (e.g. "metadata", "annotations", KEY) of obj. The server writes managedFields itself on
// every create and update: an object made from a copy of ours (kubectl get -o yaml, then
// kubectl create or apply) names kubectl's managers, not ours.
func SetBy(obj *unstructured.Unstructured, manager string, path ...string) bool {
	for _, entry := range obj.GetManagedFields() {
		if entry.Manager != manager || entry.Subresource != "" || entry.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		if json.Unmarshal(entry.FieldsV1.Raw, &fields) != nil {
			continue
		}
		if hasField(fields, path) {
			return true
		}
	}
	return false
}

// hasField walks a FieldsV1 set ({"f:metadata": {"f:annotations": {"f:KEY": {}}}}).
func hasField(fields map[string]any, path []string) bool {
	for _, name := range path {
		next, ok := fields["f:"+name].(map[string]any)
		if !ok {
			return false
		}
		fields = next
	}
	return true
}
