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
	if p.DestinationRule == "" {
		return fmt.Errorf("%s: no DestinationRule in namespace %s defines subsets for host %s: create one with a subset per version first",
			p.Service, p.Service.Namespace, p.Service)
	}
	return fmt.Errorf("%s: DestinationRule %s defines no subsets: add one per version first", p.Service, p.DestinationRule)
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
		case p.DestinationRule == "":
			problem = fmt.Sprintf("%s: no DestinationRule in namespace %s defines subset %q (503 NC in Envoy); create one or pass --force",
				p.Service, p.Service.Namespace, w.Subset)
		case !known:
			problem = fmt.Sprintf("%s: subset %q is not in DestinationRule %s (subsets: %s; 503 NC in Envoy); add it or pass --force",
				p.Service, w.Subset, p.DestinationRule, strings.Join(subsetNames(p.Subsets), ", "))
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
