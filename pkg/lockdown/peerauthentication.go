package lockdown

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// previousState is what lockdown keeps of a PeerAuthentication it changed.
type previousState struct {
	Spec        map[string]any    `json:"spec,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// peerAuthenticationChange sets the namespace-wide PeerAuthentication that Istio honours to
// STRICT: the existing one (whatever its name, its old state recorded for undo) or a new
// "default".
func peerAuthenticationChange(in Input) (*change.Change, []string, error) {
	wide := istio.NamespaceWidePeerAuthentications(in.PeerAuthentications, in.Namespace)
	var warnings []string
	if len(wide) == 0 {
		pa := newObject("PeerAuthentication", in.Namespace, "default", map[string]any{"mtls": map[string]any{"mode": istio.ModeStrict}})
		return &change.Change{After: pa, Detail: "mtls STRICT (was not set: mesh default applies)"}, nil, nil
	}
	for _, extra := range wide[1:] {
		warnings = append(warnings, fmt.Sprintf("peerauthentication/%s is a second namespace-wide PeerAuthentication; Istio ignores all but the oldest (%s)", extra.GetName(), wide[0].GetName()))
	}
	current := wide[0]
	was := istio.MTLSMode(current)
	if was == istio.ModeStrict {
		return nil, warnings, nil // nothing to change, and so nothing for undo to restore
	}
	after := current.DeepCopy()
	if _, recorded := current.GetAnnotations()[RecordAnnotation]; !recorded {
		spec, _ := current.Object["spec"].(map[string]any)
		record, err := json.Marshal(previousState{Spec: spec, Labels: current.GetLabels(), Annotations: current.GetAnnotations()})
		if err != nil {
			return nil, nil, fmt.Errorf("recording peerauthentication/%s: %w", current.GetName(), err)
		}
		istio.SetManagedBy(after)
		annotations := after.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[RecordAnnotation] = string(record)
		after.SetAnnotations(annotations)
	}
	if err := unstructured.SetNestedField(after.Object, istio.ModeStrict, "spec", "mtls", "mode"); err != nil {
		return nil, nil, fmt.Errorf("peerauthentication/%s: %w", current.GetName(), err)
	}
	return &change.Change{Before: current, After: after, Detail: fmt.Sprintf("mtls STRICT (was %s)", was)}, warnings, nil
}

// recordedPeerAuthentication rebuilds, from lockdown's record on pa, the object as it was
// before lockdown changed it.
func recordedPeerAuthentication(pa *unstructured.Unstructured, record string) (*unstructured.Unstructured, error) {
	var previous previousState
	if err := json.Unmarshal([]byte(record), &previous); err != nil {
		return nil, fmt.Errorf("peerauthentication/%s: annotation %s does not hold what lockdown recorded (%v): restore it by hand", pa.GetName(), RecordAnnotation, err)
	}
	before := &unstructured.Unstructured{Object: map[string]any{}}
	before.SetLabels(previous.Labels)
	before.SetAnnotations(previous.Annotations)
	if previous.Spec != nil {
		before.Object["spec"] = previous.Spec
	}
	return change.Restore(pa, before), nil
}

// permissiveWorkloadPolicies warns of workload PeerAuthentications that keep plaintext open
// (on the workload or one of its ports): they override the namespace's STRICT.
func permissiveWorkloadPolicies(pas []*unstructured.Unstructured) []string {
	strict := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"mtls": map[string]any{"mode": istio.ModeStrict}}}}
	var warnings []string
	for _, pa := range pas {
		labels := istio.WorkloadSelector(pa)
		if len(labels) == 0 {
			continue
		}
		// What the workload gets once the namespace is STRICT.
		m := istio.PeerAuthenticationLevels{Namespace: strict, Workload: pa}.Effective()
		for _, weak := range []string{istio.ModePermissive, istio.ModeDisable} {
			if m.Anywhere(weak) {
				warnings = append(warnings, fmt.Sprintf("peerauthentication/%s keeps mTLS %s for workloads %s: lockdown leaves it as it is; delete it for STRICT everywhere",
					pa.GetName(), weak, formatSelector(labels)))
				break
			}
		}
	}
	return warnings
}
