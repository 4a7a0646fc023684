package canary

import (
	apinetworking "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/podutils"
)

// Subset is one subset of the service's DestinationRule and the pods it selects.
type Subset struct {
	Name      string
	Labels    map[string]string
	Pods      int // pods of the service that the subset selects
	ReadyPods int // of those, the ones Ready and not terminating
}

// subsetsOf lists the subsets in their order, counting the service's pods each selects.
func subsetsOf(subsets []*apinetworking.Subset, serviceSelector map[string]string, pods []corev1.Pod) []Subset {
	var servicePods []*corev1.Pod
	if len(serviceSelector) > 0 {
		sel := labels.SelectorFromSet(serviceSelector)
		for i := range pods {
			if sel.Matches(labels.Set(pods[i].Labels)) {
				servicePods = append(servicePods, &pods[i])
			}
		}
	}
	out := make([]Subset, 0, len(subsets))
	for _, s := range subsets {
		subset := Subset{Name: s.Name, Labels: s.Labels}
		sel := labels.SelectorFromSet(s.Labels)
		for _, pod := range servicePods {
			if !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			subset.Pods++
			if pod.DeletionTimestamp == nil && podutils.IsPodReady(pod) {
				subset.ReadyPods++
			}
		}
		out = append(out, subset)
	}
	return out
}

func findSubset(subsets []Subset, name string) (Subset, bool) {
	for _, s := range subsets {
		if s.Name == name {
			return s, true
		}
	}
	return Subset{}, false
}

func subsetNames(subsets []Subset) []string {
	names := make([]string, len(subsets))
	for i, s := range subsets {
		names[i] = s.Name
	}
	return names
}
