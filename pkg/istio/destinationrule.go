package istio

import (
	"fmt"
	"sort"

	apinetworking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
)

// MergedDestinationRule is what Istio makes of the DestinationRules of one namespace whose host
// names a service: one rule, their subsets concatenated oldest rule first, the first
// definition of a subset name winning.
type MergedDestinationRule struct {
	// Names are the rules merged, oldest first.
	Names   []string
	Subsets []*apinetworking.Subset
	// Shadowed says which subset definitions a rule's older sibling hides.
	Shadowed []string
	// NearMisses explain rules whose host almost names the service but does not, for Istio.
	NearMisses []string
}

// MergeDestinationRules merges the rules among rules (one namespace's) whose host names svc and
// that apply to every client (no workloadSelector: those are kept apart by Istio).
func MergeDestinationRules(rules []*networkingv1.DestinationRule, svc Service) MergedDestinationRule {
	var m MergedDestinationRule
	var matching []*networkingv1.DestinationRule
	for _, dr := range rules {
		if dr.Spec.WorkloadSelector != nil {
			continue
		}
		if HostNamesService(dr.Spec.Host, dr.Namespace, svc) {
			matching = append(matching, dr)
		} else if why := HostNearMiss(dr.Spec.Host, dr.Namespace, svc); why != "" {
			m.NearMisses = append(m.NearMisses, fmt.Sprintf("DestinationRule %s has host %q: %s", dr.Name, dr.Spec.Host, why))
		}
	}
	sort.SliceStable(matching, func(i, j int) bool {
		ti, tj := matching[i].CreationTimestamp, matching[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return matching[i].Name < matching[j].Name
	})
	definedBy := map[string]string{}
	for _, dr := range matching {
		m.Names = append(m.Names, dr.Name)
		for _, s := range dr.Spec.Subsets {
			if s == nil {
				continue
			}
			if first, seen := definedBy[s.Name]; seen {
				m.Shadowed = append(m.Shadowed, fmt.Sprintf("subset %s of DestinationRule %s is ignored: DestinationRule %s, older, defines it first", s.Name, dr.Name, first))
				continue
			}
			definedBy[s.Name] = dr.Name
			m.Subsets = append(m.Subsets, s)
		}
	}
	return m
}
