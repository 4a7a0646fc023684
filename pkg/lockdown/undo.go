package lockdown

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Undo plans the removal of what lockdown created and the restoration of the
// PeerAuthentication it changed. Policies it did not create are never touched; undoing an
// undone namespace plans nothing.
func Undo(in Input) (*Plan, error) {
	p := &Plan{Namespace: in.Namespace}
	var deny, allows []Write
	for _, ap := range in.AuthorizationPolicies {
		if !isOurs(ap) {
			continue
		}
		w := Write{Before: ap, Detail: "created by lockdown"}
		if ap.GetName() == DenyPolicyName {
			deny = append(deny, w)
		} else {
			allows = append(allows, w)
		}
	}
	var pas []Write
	for _, pa := range in.PeerAuthentications {
		record, ok := pa.GetAnnotations()[RecordAnnotation]
		switch {
		case !ok || pa.GetLabels()[ManagedByLabel] != ManagedByValue:
			continue
		case record == created:
			pas = append(pas, Write{Before: pa, Detail: "created by lockdown"})
		default:
			restored, err := restorePeerAuthentication(pa, record)
			if err != nil {
				return nil, err
			}
			pas = append(pas, Write{Before: pa, After: restored, Detail: fmt.Sprintf("mtls %s restored (was %s)", mtlsMode(restored), mtlsMode(pa))})
		}
	}
	// Lift default deny first, so no caller is cut off while the rest goes.
	p.Writes = append(append(append(p.Writes, deny...), pas...), allows...)
	return p, nil
}

// restorePeerAuthentication rebuilds pa as recorded before lockdown changed it.
func restorePeerAuthentication(pa *unstructured.Unstructured, record string) (*unstructured.Unstructured, error) {
	var previous previousState
	if err := json.Unmarshal([]byte(record), &previous); err != nil {
		return nil, fmt.Errorf("peerauthentication/%s: annotation %s does not hold what lockdown recorded (%v): restore it by hand", pa.GetName(), RecordAnnotation, err)
	}
	restored := pa.DeepCopy()
	restored.SetLabels(previous.Labels)
	restored.SetAnnotations(previous.Annotations)
	if previous.Spec != nil {
		restored.Object["spec"] = previous.Spec
	} else {
		delete(restored.Object, "spec")
	}
	return restored, nil
}
