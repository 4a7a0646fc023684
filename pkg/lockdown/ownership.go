package lockdown

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// isOurs: lockdown created obj (see ourRecord), so it may converge and delete it.
func isOurs(obj *unstructured.Unstructured) bool {
	record, ok := ourRecord(obj)
	return ok && record == created
}

// ourRecord is lockdown's record on obj ("created", or what a PeerAuthentication held before
// lockdown changed it), when lockdown wrote it on this very object. The label and the record
// annotation are not proof: a copy of the object (kubectl get -o yaml, renamed, then kubectl
// create or apply) carries both, and is someone else's. The API server's managedFields are:
// it records kubectl-mesh as the manager of the annotation only on the object our write set
// it on, and a copy names kubectl's managers. A change record also names the object's UID,
// which no copy shares. Nothing is written to prove ownership: the writes that make the
// objects leave the proof.
func ourRecord(obj *unstructured.Unstructured) (string, bool) {
	record, ok := obj.GetAnnotations()[RecordAnnotation]
	if !ok || !istio.IsManagedByUs(obj) || !change.SetBy(obj, change.FieldManager, "metadata", "annotations", RecordAnnotation) {
		return "", false
	}
	if record != created {
		// An unreadable record is ours all the same: undo says it cannot restore from it.
		if previous, err := readRecord(record); err == nil && previous.UID != "" && previous.UID != string(obj.GetUID()) {
			return "", false
		}
	}
	return record, true
}
