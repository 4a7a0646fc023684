package lockdown

import (
	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

// Undo plans the removal of what lockdown created and, on the PeerAuthentication it changed,
// the restoration of what it changed there. Objects it did not create or change, copies of
// its own included, are never touched; undoing an undone namespace plans nothing.
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
		record, ok := ourRecord(pa)
		switch {
		case !ok:
			continue
		case record == created:
			pas = append(pas, change.Change{Before: pa, Detail: "created by lockdown"})
		default:
			c, warnings, err := undoPeerAuthentication(pa, record)
			if err != nil {
				return nil, err
			}
			pas = append(pas, *c)
			p.Warnings = append(p.Warnings, warnings...)
		}
	}
	// Lift default deny first, so no caller is cut off while the rest goes.
	p.Changes = append(append(append(p.Changes, deny...), pas...), allows...)
	return p, nil
}
