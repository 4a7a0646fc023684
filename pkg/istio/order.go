package istio

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// SortOldestFirst orders objects as Istio does when several could decide the same thing (two
// namespace-wide PeerAuthentications, two DestinationRules for one host): by creation time,
// then by name, then by namespace, so that the choice is the same on every read.
func SortOldestFirst(objects []*unstructured.Unstructured) {
	sort.SliceStable(objects, func(i, j int) bool { return olderThan(objects[i], objects[j]) })
}

func olderThan(a, b *unstructured.Unstructured) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	if a.GetName() != b.GetName() {
		return a.GetName() < b.GetName()
	}
	return a.GetNamespace() < b.GetNamespace()
}

// oldest is the object that SortOldestFirst would put first; nil for none.
func oldest(objects []*unstructured.Unstructured) *unstructured.Unstructured {
	var first *unstructured.Unstructured
	for _, o := range objects {
		if first == nil || olderThan(o, first) {
			first = o
		}
	}
	return first
}
