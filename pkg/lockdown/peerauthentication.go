package lockdown

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// previousState is lockdown's record on a PeerAuthentication it changed: what the fields it
// set held before, and nothing else, so that undo puts back only those. Spec holds
// spec.mtls.mode (spec, mtls or mode absent where they were), Labels the managed-by label's
// value if it had one, UID the object's own. Records of older versions hold the whole spec,
// labels and annotations, and no UID: the same fields are read from them, the rest ignored.
type previousState struct {
	UID    string            `json:"uid,omitempty"`
	Spec   map[string]any    `json:"spec"`
	Labels map[string]string `json:"labels,omitempty"`
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
	// Recorded once, when lockdown first changes it: undo goes back to before the first
	// lockdown. A record that is not ours (a copy's) is replaced.
	if _, recorded := ourRecord(current); !recorded {
		record, err := json.Marshal(recordOf(current))
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

// recordOf is what lockdown records of pa before setting it STRICT.
func recordOf(pa *unstructured.Unstructured) previousState {
	spec, _ := pa.Object["spec"].(map[string]any)
	return previousState{UID: string(pa.GetUID()), Spec: spec, Labels: pa.GetLabels()}.lockdownFields()
}

// lockdownFields keeps of s the fields lockdown sets: spec.mtls.mode and the managed-by label.
func (s previousState) lockdownFields() previousState {
	out := previousState{UID: s.UID}
	if s.Spec != nil {
		out.Spec = map[string]any{}
		if mtls, ok := s.Spec["mtls"].(map[string]any); ok {
			out.Spec["mtls"] = map[string]any{}
			if mode, ok := mtls["mode"]; ok {
				out.Spec["mtls"] = map[string]any{"mode": mode}
			}
		}
	}
	if value, ok := s.Labels[istio.ManagedByLabel]; ok {
		out.Labels = map[string]string{istio.ManagedByLabel: value}
	}
	return out
}

// readRecord reads a change record, of this version or an older one.
func readRecord(record string) (previousState, error) {
	var previous previousState
	err := json.Unmarshal([]byte(record), &previous)
	return previous, err
}

// undoPeerAuthentication puts back on pa what lockdown changed, as its record says: the mtls
// mode, the managed-by label, the record. Whatever else was added or changed since stays; so
// does the mode when someone changed it after lockdown set STRICT, with a warning.
func undoPeerAuthentication(pa *unstructured.Unstructured, record string) (*change.Change, []string, error) {
	previous, err := readRecord(record)
	if err != nil {
		return nil, nil, fmt.Errorf("peerauthentication/%s: annotation %s does not hold what lockdown recorded (%v): restore it by hand, then remove the annotation", pa.GetName(), RecordAnnotation, err)
	}
	previous = previous.lockdownFields()
	was := &unstructured.Unstructured{Object: map[string]any{}}
	was.SetLabels(previous.Labels)
	if previous.Spec != nil {
		was.Object["spec"] = previous.Spec
	}
	set := newObject("PeerAuthentication", pa.GetNamespace(), pa.GetName(), map[string]any{"mtls": map[string]any{"mode": istio.ModeStrict}})
	set.SetAnnotations(map[string]string{RecordAnnotation: record})
	restored, kept := change.Revert(pa, was, set)
	wasMode, now := istio.MTLSMode(was), istio.MTLSMode(pa)
	if len(kept) == 0 {
		return &change.Change{Before: pa, After: restored, Detail: fmt.Sprintf("mtls %s restored (was %s)", wasMode, now)}, nil, nil
	}
	warning := fmt.Sprintf("peerauthentication/%s: mtls mode is %s, changed since lockdown set it to %s: undo leaves it as it is (before lockdown it was %s; set that by hand if you want it back)",
		pa.GetName(), now, istio.ModeStrict, wasMode)
	if !slices.Equal(kept, []string{"spec.mtls.mode"}) {
		warning = fmt.Sprintf("peerauthentication/%s: %s changed since lockdown set them: undo leaves them as they are", pa.GetName(), strings.Join(kept, ", "))
	}
	detail := fmt.Sprintf("lockdown's label and record removed; mtls %s left as it is (changed since lockdown set %s)", now, istio.ModeStrict)
	return &change.Change{Before: pa, After: restored, Detail: detail}, []string{warning}, nil
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
