package lockdown

import (
	"fmt"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Undo plans the removal of what lockdown created and the restoration of the
// PeerAuthentication it changed. Policies it did not create are never touched; undoing an
// undone namespace plans nothing.
func Undo(in Input) (*Plan, error) {
	p := &Plan{Namespace: in.Namespace}
	var deny, allows []change.Change
	for _, ap := range in.AuthorizationPolicies {
		if !isOurs(ap) {
			continue
		}
		c := change.Change{Before: ap, Detail: "created by lockdown"}
		if ap.GetName() == DenyPolicyName {
			deny = append(deny, c)
		} else {
			allows = append(allows, c)
		}
	}
	var pas []change.Change
	for _, pa := range in.PeerAuthentications {
		record, ok := pa.GetAnnotations()[RecordAnnotation]
		switch {
		case !ok || !istio.IsManagedByUs(pa):
			continue
		case record == created:
			pas = append(pas, change.Change{Before: pa, Detail: "created by lockdown"})
		default:
			restored, err := recordedPeerAuthentication(pa, record)
			if err != nil {
				return nil, err
			}
			pas = append(pas, change.Change{Before: pa, After: restored, Detail: fmt.Sprintf("mtls %s restored (was %s)", istio.MTLSMode(restored), istio.MTLSMode(pa))})
		}
	}
	// Lift default deny first, so no caller is cut off while the rest goes.
	p.Changes = append(append(append(p.Changes, deny...), pas...), allows...)
	return p, nil
}
