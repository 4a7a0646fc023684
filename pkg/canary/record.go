package canary

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// RecordAnnotation holds, on the VirtualService, the canaries in progress: per route, which
// subset is stable and which is the canary, and the weights before the last change. It fixes
// the roles while weights move (after a step to 60%, the canary carries most traffic but is
// still the canary) and lets --rollback return traffic to stable after any number of steps.
const RecordAnnotation = "kubectl-mesh.dev/canary"

// Weight is the share of a route's traffic one subset receives, in percent.
type Weight struct {
	Subset string `json:"subset"`
	Weight int64  `json:"weight"`
}

// record is one route's canary in progress.
type record struct {
	Stable   string   `json:"stable"`
	Canary   string   `json:"canary"`
	Previous []Weight `json:"previous,omitempty"`
}

// records maps a route's key (its name, else "#index") to its canary.
type records map[string]record

func readRecords(vs *unstructured.Unstructured) (records, error) {
	raw, ok := vs.GetAnnotations()[RecordAnnotation]
	if !ok || raw == "" {
		return records{}, nil
	}
	var r records
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("VirtualService %s: annotation %s is not a canary record (%v): fix or remove it", vs.GetName(), RecordAnnotation, err)
	}
	if r == nil {
		r = records{}
	}
	return r, nil
}

// writeRecords stores r on vs, removing the annotation when no canary is in progress.
func writeRecords(vs *unstructured.Unstructured, r records) {
	annotations := vs.GetAnnotations()
	if len(r) == 0 {
		if _, ok := annotations[RecordAnnotation]; ok {
			delete(annotations, RecordAnnotation)
			vs.SetAnnotations(annotations)
		}
		return
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	raw, _ := json.Marshal(r) // maps of plain structs always marshal
	annotations[RecordAnnotation] = string(raw)
	vs.SetAnnotations(annotations)
}
