package istio

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// AuthorizationPolicy actions. A policy without one is an ALLOW policy.
const (
	ActionAllow  = "ALLOW"
	ActionDeny   = "DENY"
	ActionCustom = "CUSTOM"
	ActionAudit  = "AUDIT"
)

// Action is ap's spec.action, ALLOW when unset.
func Action(ap *unstructured.Unstructured) string {
	action, _, _ := unstructured.NestedString(ap.Object, "spec", "action")
	if action == "" {
		return ActionAllow
	}
	return action
}

// HasTargetRefs reports whether ap attaches to a Gateway or Service (targetRef, targetRefs)
// instead of selecting workloads: such a policy is enforced by gateways and waypoints, not by
// a workload's sidecar.
func HasTargetRefs(ap *unstructured.Unstructured) bool {
	_, single, _ := unstructured.NestedMap(ap.Object, "spec", "targetRef")
	refs, _, _ := unstructured.NestedSlice(ap.Object, "spec", "targetRefs")
	return single || len(refs) > 0
}

// PolicyApplies reports whether ap applies to a workload of namespace with these pod labels,
// at the workload's own proxy: a policy of the root namespace applies mesh-wide, one of the
// workload's namespace applies there; its selector must pick the workload (no selector:
// every workload).
func PolicyApplies(ap *unstructured.Unstructured, rootNamespace, namespace string, labels map[string]string) bool {
	if ap.GetNamespace() != namespace && ap.GetNamespace() != rootNamespace {
		return false
	}
	if HasTargetRefs(ap) {
		return false
	}
	return SelectorMatches(WorkloadSelector(ap), labels)
}

// PoliciesFor are the policies among aps that apply to a workload of namespace with labels.
func PoliciesFor(aps []*unstructured.Unstructured, rootNamespace, namespace string, labels map[string]string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, ap := range aps {
		if PolicyApplies(ap, rootNamespace, namespace, labels) {
			out = append(out, ap)
		}
	}
	return out
}
