package canary

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// checkDestinations refuses rules whose traffic we cannot shift without touching more than
// weights: other services, redirects and delegates, whole-service entries beside versions.
func (p *Plan) checkDestinations(route *unstructured.Unstructured, ref ruleRef, dests []destination) error {
	if len(dests) == 0 {
		return fmt.Errorf("%s: %s of %s %s has no destinations (redirect, delegate or direct response): nothing to shift", p.Service, ref, route.GetKind(), route.GetName())
	}
	for _, d := range dests {
		if err := p.checkTarget(route, ref, d); err != nil {
			return err
		}
		if d.backend == "" && len(dests) > 1 {
			return fmt.Errorf("%s: %s of %s %s mixes a destination for the whole service with versions; give it a %s first", p.Service, ref, route.GetKind(), route.GetName(), p.API.Term)
		}
	}
	return nil
}

// checkTarget refuses an entry that sends to something other than the service or one of its
// versions.
func (p *Plan) checkTarget(route *unstructured.Unstructured, ref ruleRef, d destination) error {
	if p.API.gatewayAPI() {
		_, isVersion := findBackend(p.Backends, d.backend)
		if d.backend == "" || (isVersion && d.host == p.Service.Namespace+"/"+d.backend) {
			return nil
		}
		return fmt.Errorf("%s: %s of %s %s also sends traffic to %s, which is not a version Service of %s (one whose selector adds a version label to %s's); kubectl mesh canary shifts traffic between versions of one service only",
			p.Service, ref, route.GetKind(), route.GetName(), d.host, p.Service, p.Service)
	}
	if why := istio.HostNearMiss(d.host, route.GetNamespace(), p.Service); why != "" {
		return fmt.Errorf("%s: %s of VirtualService %s sends traffic to host %q, which is not service %s for Istio: %s; fix the route first",
			p.Service, ref, route.GetName(), d.host, p.Service, why)
	}
	if !istio.HostNamesService(d.host, route.GetNamespace(), p.Service) {
		return fmt.Errorf("%s: %s of VirtualService %s also sends traffic to host %q; kubectl mesh canary shifts traffic between subsets of one service only",
			p.Service, ref, route.GetName(), d.host)
	}
	return nil
}

// versionsSource names where the versions come from, for messages: the DestinationRules, or
// the version Services.
func (p *Plan) versionsSource() string {
	switch {
	case p.API.gatewayAPI():
		return "the version Services of " + p.Service.Name
	case len(p.DestinationRules) == 1:
		return "DestinationRule " + p.DestinationRules[0]
	}
	return "DestinationRules " + strings.Join(p.DestinationRules, ", ") + " (merged, as Istio merges them)"
}

func (p *Plan) backendList() string { return strings.Join(backendNames(p.Backends), ", ") }

// nearMissNote is " (why objects that almost name the service do not)", or "".
func (p *Plan) nearMissNote() string {
	if len(p.nearMisses) == 0 {
		return ""
	}
	return " (" + strings.Join(p.nearMisses, "; ") + ")"
}

// checkTargets refuses to send more traffic than before to a version Envoy cannot serve: a
// subset the DestinationRules lack (503 NC), a Service that does not exist (500), or one with
// nothing ready behind it (503 UH). With force, the refusals become warnings.
func (p *Plan) checkTargets(force bool) error {
	before := map[string]int64{}
	for _, w := range p.Before {
		before[w.Backend] = w.Weight
	}
	for _, w := range p.After {
		if w.Weight <= before[w.Backend] {
			continue
		}
		problem := p.unservable(w.Backend)
		if problem == "" {
			continue
		}
		if !force {
			return fmt.Errorf("%s", problem)
		}
		p.Warnings = append(p.Warnings, strings.TrimSuffix(problem, " or pass --force")+" (sent anyway: --force)")
	}
	return nil
}

// unservable says why Envoy could not serve a version, or "".
func (p *Plan) unservable(name string) string {
	b, known := findBackend(p.Backends, name)
	switch {
	case p.API.gatewayAPI() && !known:
		return fmt.Sprintf("%s: no version Service %q in namespace %s (versions: %s; Envoy answers 500 for a backend that does not exist); create it or pass --force",
			p.Service, name, p.Service.Namespace, p.backendList())
	case p.API.gatewayAPI() && b.ReadyPods == unknown:
		return fmt.Sprintf("%s: cannot tell whether Service %q has ready endpoints (you may not list endpointslices in namespace %s); ask for that right, or pass --force",
			p.Service, name, p.Service.Namespace)
	case p.API.gatewayAPI() && b.ReadyPods == 0:
		return fmt.Sprintf("%s: Service %q has no ready endpoint (%d endpoints, 0 ready; 503 UH in Envoy); deploy %s first or pass --force",
			p.Service, name, b.Pods, name)
	case p.API.gatewayAPI():
		return ""
	case len(p.DestinationRules) == 0:
		return fmt.Sprintf("%s: no DestinationRule in namespace %s defines subset %q%s (503 NC in Envoy); create one or pass --force",
			p.Service, p.Service.Namespace, name, p.nearMissNote())
	case !known:
		return fmt.Sprintf("%s: subset %q is not in %s (subsets: %s; 503 NC in Envoy); add it or pass --force",
			p.Service, name, p.versionsSource(), p.backendList())
	case b.ReadyPods == 0:
		return fmt.Sprintf("%s: subset %q selects no ready pods (%d pods, 0 ready; 503 UH in Envoy); deploy %s first or pass --force",
			p.Service, name, b.Pods, name)
	}
	return ""
}
