package lockdown

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// desiredPolicy is an AuthorizationPolicy the plan wants in place, and why, for people.
type desiredPolicy struct {
	object *unstructured.Unstructured
	detail string
}

// probe is a request the check tries at one enforcement point, and who sends it, for people.
type probe struct {
	request istio.Request
	caller  string
}

// checkPoint is one enforcement point with the requests to try there.
type checkPoint struct {
	point  istio.Point
	target string // the workload, or "Service S at waypoint W"
	probes []probe
}

// verifyNarrowing judges the planned policies with the evaluator before anything is written:
// at every enforcement point of the namespace, for the callers the plan keeps or refused, the
// callers telemetry saw, any other identity and a plaintext client (over HTTP and TCP), what
// is allowed after must have been allowed before. A policy of lockdown's that lets through
// more is taken out of the plan and the refusal said; the check runs again until nothing
// widens. Should something widen that no policy of lockdown's explains, nothing is written.
func (p *Plan) verifyNarrowing(in Input, desired []desiredPolicy) ([]desiredPolicy, error) {
	before := baseline(in)
	points := p.checkPoints(in)
	for range len(desired) + 1 {
		after := istio.Authorizer{Policies: slices.Clone(before.Policies), RootNamespace: before.RootNamespace}
		ours := map[string]bool{}
		for _, d := range desired {
			after.Policies = append(after.Policies, d.object)
			ours[d.object.GetNamespace()+"/"+d.object.GetName()] = true
		}
		culprits, unexplained := widenings(before, after, points, ours)
		if len(unexplained) > 0 {
			return nil, fmt.Errorf("refusing to write: the plan would allow what is denied today and no policy of lockdown's explains it (%s); please report this", strings.Join(unexplained, "; "))
		}
		if len(culprits) == 0 {
			p.after = after
			return desired, nil
		}
		desired = slices.DeleteFunc(desired, func(d desiredPolicy) bool {
			r, found := culprits[d.object.GetNamespace()+"/"+d.object.GetName()]
			if found {
				r.Policy = "authorizationpolicy/" + d.object.GetName()
				p.Refused = append(p.Refused, r)
			}
			return found
		})
	}
	return nil, fmt.Errorf("refusing to write: the plan keeps widening access after every correction; please report this")
}

// widenings finds the requests after allows and before did not: for each, the policy of
// lockdown's whose rule lets it through (culprits), or a description when none does.
func widenings(before, after istio.Authorizer, points []checkPoint, ours map[string]bool) (map[string]Refusal, []string) {
	culprits := map[string]Refusal{}
	var unexplained []string
	for _, cp := range points {
		for _, pr := range cp.probes {
			b, a := before.Decide(cp.point, pr.request), after.Decide(cp.point, pr.request)
			if !istio.Wider(b, a) {
				continue
			}
			found := false
			for _, rule := range a.Allowing {
				if ours[rule.Policy] && !slices.ContainsFunc(b.Allowing, func(r istio.RuleRef) bool { return r.Policy == rule.Policy }) {
					found = true
					culprits[rule.Policy] = Refusal{Workload: cp.target, Caller: pr.caller,
						Why: fmt.Sprintf("it would admit %s at the %s, where today %s", pr.caller, cp.point, b.Reason)}
				}
			}
			if !found {
				unexplained = append(unexplained, fmt.Sprintf("%s at %s: before %s, after %s", pr.caller, cp.target, b.Reason, a.Reason))
			}
		}
	}
	return culprits, unexplained
}

// checkPoints are the enforcement points of the namespace's workloads and waypoints, each
// with the requests worth trying there.
func (p *Plan) checkPoints(in Input) []checkPoint {
	var out []checkPoint
	for _, w := range p.Workloads {
		point, ok := p.pointOf(in, w)
		if !ok {
			continue
		}
		callers := slices.Concat(p.considered[w.Name], p.Allowed[w.Name])
		for _, o := range p.seen {
			if c, ok := o.caller(in.Mesh); ok && slices.Contains(workloadsOfObservation(p.Workloads, o), w) {
				callers = append(callers, c)
			}
		}
		out = append(out, checkPoint{point: point, target: w.Name, probes: probesFor(callers, in.Mesh)})
	}
	// A policy that targets a waypoint's Gateway applies to all it carries: every binding on one
	// waypoint is tried with the callers of every binding on it.
	onWaypoint := map[string][]Caller{}
	for _, b := range p.Waypoints {
		onWaypoint[b.Waypoint] = slices.Concat(onWaypoint[b.Waypoint], b.Callers, b.Identities)
	}
	for _, b := range p.Waypoints {
		out = append(out, checkPoint{point: waypointPoint(in, b), target: fmt.Sprintf("%s at waypoint %s", b.subject(), b.Waypoint), probes: probesFor(onWaypoint[b.Waypoint], in.Mesh)})
	}
	return out
}

// probesFor are requests from each caller, from any other identity and from a plaintext
// client, each over HTTP (any operation) and over TCP.
func probesFor(callers []Caller, mesh istio.MeshConfig) []probe {
	base := []probe{
		{istio.Request{Principal: istio.Unknown, RequestPrincipal: istio.Unknown}, "any mTLS caller"},
		{istio.Request{RequestPrincipal: istio.Unknown}, "a plaintext client"},
	}
	for _, c := range callers {
		if c.Namespace != "" {
			base = append(base, probe{c.request(mesh), c.String()})
		}
	}
	out := make([]probe, 0, 2*len(base))
	for _, pr := range base {
		tcp := pr
		tcp.request.TCP = true
		tcp.caller += " over TCP"
		out = append(out, pr, tcp)
	}
	return out
}
