package canary

import (
	"sort"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Subset is one subset of the service's DestinationRule and the pods it selects.
type Subset struct {
	Name      string
	Labels    map[string]string
	Pods      int // pods of the service that the subset selects
	ReadyPods int // of those, the ones Ready and not terminating
}

// destinationRuleFor picks the DestinationRule for svc among rules (all from the service's
// namespace): one whose host names the service and that applies to every client (no
// workloadSelector). When several do, Istio uses the oldest; so do we.
func destinationRuleFor(rules []*networkingv1.DestinationRule, svc istio.Service) *networkingv1.DestinationRule {
	var matching []*networkingv1.DestinationRule
	for _, dr := range rules {
		if dr.Spec.WorkloadSelector == nil && istio.HostNamesService(dr.Spec.Host, dr.Namespace, svc) {
			matching = append(matching, dr)
		}
	}
	if len(matching) == 0 {
		return nil
	}
	sort.SliceStable(matching, func(i, j int) bool {
		ti, tj := matching[i].CreationTimestamp, matching[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return matching[i].Name < matching[j].Name
	})
	return matching[0]
}

// subsetsOf lists dr's subsets in their order, counting the service's pods each selects.
func subsetsOf(dr *networkingv1.DestinationRule, serviceSelector map[string]string, pods []corev1.Pod) []Subset {
	if dr == nil {
		return nil
	}
	var servicePods []*corev1.Pod
	if len(serviceSelector) > 0 {
		sel := labels.SelectorFromSet(serviceSelector)
		for i := range pods {
			if sel.Matches(labels.Set(pods[i].Labels)) {
				servicePods = append(servicePods, &pods[i])
			}
		}
	}
	subsets := make([]Subset, 0, len(dr.Spec.Subsets))
	for _, s := range dr.Spec.Subsets {
		if s == nil {
			continue
		}
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
		subsets = append(subsets, subset)
	}
	return subsets
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
