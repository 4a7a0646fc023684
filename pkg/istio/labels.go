package istio

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// The label every object kubectl mesh creates carries, as Kubernetes recommends.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubectl-mesh"
)

// IsManagedByUs reports whether obj carries our managed-by label. It is not proof that we
// created it: each command also checks its own record annotation before deleting anything.
func IsManagedByUs(obj *unstructured.Unstructured) bool {
	return obj.GetLabels()[ManagedByLabel] == ManagedByValue
}

// SetManagedBy adds our managed-by label to obj, keeping its other labels.
func SetManagedBy(obj *unstructured.Unstructured) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ManagedByLabel] = ManagedByValue
	obj.SetLabels(labels)
}

// SelectorMatches reports whether a matchLabels selector picks an object with these labels:
// every key of the selector with the same value. An empty selector picks everything.
func SelectorMatches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// WorkloadSelector is spec.selector.matchLabels of a PeerAuthentication or
// AuthorizationPolicy (nil when the policy has none).
func WorkloadSelector(policy *unstructured.Unstructured) map[string]string {
	selector, _, _ := unstructured.NestedStringMap(policy.Object, "spec", "selector", "matchLabels")
	return selector
}
