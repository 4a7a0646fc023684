package canary

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// RecordAnnotation holds, on the route, the canaries in progress: per rule, which version is
// stable and which is the canary, and the weights before the last change. It fixes
// the roles while weights move (after a step to 60%, the canary carries most traffic but is
// still the canary) and lets --rollback return traffic to stable after any number of steps.
const RecordAnnotation = "kubectl-mesh.dev/canary"

// Weight is the share of a rule's traffic one version receives, in percent. Backend is ""
// for an entry that names the whole service. (Records store it as "subset", their first name.)
type Weight struct {
	Backend string `json:"subset"`
	Weight  int64  `json:"weight"`
}

// record is one rule's canary in progress.
type record struct {
	Stable   string   `json:"stable"`
	Canary   string   `json:"canary"`
	Previous []Weight `json:"previous,omitempty"`
}

// records maps a rule's key (its name, else "#index") to its canary.
type records map[string]record

func readRecords(route *unstructured.Unstructured) (records, error) {
	raw, ok := route.GetAnnotations()[RecordAnnotation]
	if !ok || raw == "" {
		return records{}, nil
	}
	var r records
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("%s %s: annotation %s is not a canary record (%v): fix or remove it", route.GetKind(), route.GetName(), RecordAnnotation, err)
	}
	if r == nil {
		r = records{}
	}
	return r, nil
}

// writeRecords stores r on route, removing the annotation when no canary is in progress.
func writeRecords(route *unstructured.Unstructured, r records) {
	annotations := route.GetAnnotations()
	if len(r) == 0 {
		if _, ok := annotations[RecordAnnotation]; ok {
			delete(annotations, RecordAnnotation)
			route.SetAnnotations(annotations)
		}
		return
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	raw, _ := json.Marshal(r) // maps of plain structs always marshal
	annotations[RecordAnnotation] = string(raw)
	route.SetAnnotations(annotations)
}
