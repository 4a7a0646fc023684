package canary

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// checkDestinations refuses routes whose traffic we cannot shift without touching more than
// weights: other hosts, redirects and delegates, subset-less destinations beside others.
func (p *Plan) checkDestinations(vs *unstructured.Unstructured, ref routeRef, dests []destination) error {
	if len(dests) == 0 {
		return fmt.Errorf("%s: %s of VirtualService %s has no destinations (redirect, delegate or direct response): nothing to shift", p.Service, ref, vs.GetName())
	}
	for _, d := range dests {
		if why := istio.HostNearMiss(d.host, vs.GetNamespace(), p.Service); why != "" {
			return fmt.Errorf("%s: %s of VirtualService %s sends traffic to host %q, which is not service %s for Istio: %s; fix the route first",
				p.Service, ref, vs.GetName(), d.host, p.Service, why)
		}
		if !istio.HostNamesService(d.host, vs.GetNamespace(), p.Service) {
			return fmt.Errorf("%s: %s of VirtualService %s also sends traffic to host %q; kubectl mesh canary shifts traffic between subsets of one service only",
				p.Service, ref, vs.GetName(), d.host)
		}
		if d.subset == "" && len(dests) > 1 {
			return fmt.Errorf("%s: %s of VirtualService %s mixes a destination without a subset with others; give it a subset first", p.Service, ref, vs.GetName())
		}
	}
	return nil
}

func (p *Plan) noSubsetsError() error {
	if len(p.DestinationRules) == 0 {
		return fmt.Errorf("%s: no DestinationRule in namespace %s defines subsets for host %s%s: create one with a subset per version first",
			p.Service, p.Service.Namespace, p.Service, p.nearMissNote())
	}
	return fmt.Errorf("%s: %s defines no subsets: add one per version first", p.Service, p.rules())
}

// rules names the DestinationRules the subsets come from, for messages.
func (p *Plan) rules() string {
	if len(p.DestinationRules) == 1 {
		return "DestinationRule " + p.DestinationRules[0]
	}
	return "DestinationRules " + strings.Join(p.DestinationRules, ", ") + " (merged, as Istio merges them)"
}

// nearMissNote is " (why objects that almost name the service do not)", or "".
func (p *Plan) nearMissNote() string {
	if len(p.nearMisses) == 0 {
		return ""
	}
	return " (" + strings.Join(p.nearMisses, "; ") + ")"
}

// checkTargets refuses to send more traffic than before to a subset Envoy cannot serve: one
// the DestinationRule lacks (503 NC) or one with no ready pods (503 UH). With force, the
// refusals become warnings.
func (p *Plan) checkTargets(force bool) error {
	before := map[string]int64{}
	for _, w := range p.Before {
		before[w.Subset] = w.Weight
	}
	for _, w := range p.After {
		if w.Weight <= before[w.Subset] {
			continue
		}
		var problem string
		subset, known := findSubset(p.Subsets, w.Subset)
		switch {
		case len(p.DestinationRules) == 0:
			problem = fmt.Sprintf("%s: no DestinationRule in namespace %s defines subset %q%s (503 NC in Envoy); create one or pass --force",
				p.Service, p.Service.Namespace, w.Subset, p.nearMissNote())
		case !known:
			problem = fmt.Sprintf("%s: subset %q is not in %s (subsets: %s; 503 NC in Envoy); add it or pass --force",
				p.Service, w.Subset, p.rules(), strings.Join(subsetNames(p.Subsets), ", "))
		case subset.ReadyPods == 0:
			problem = fmt.Sprintf("%s: subset %q selects no ready pods (%d pods, 0 ready; 503 UH in Envoy); deploy %s first or pass --force",
				p.Service, w.Subset, subset.Pods, w.Subset)
		default:
			continue
		}
		if !force {
			return fmt.Errorf("%s", problem)
		}
		p.Warnings = append(p.Warnings, strings.TrimSuffix(problem, " or pass --force")+" (sent anyway: --force)")
	}
	return nil
}
