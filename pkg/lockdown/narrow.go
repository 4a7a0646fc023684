package lockdown

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Lockdown only narrows: for every request, what Istio allows after it must have been
// allowed before. Istio ORs ALLOW policies, so an ALLOW policy lockdown adds beside one that
// already applies can only admit more; default deny (an ALLOW policy without rules) denies
// only where no ALLOW policy applies. A workload already under ALLOW policies therefore keeps
// exactly them, and every plan is checked against the evaluator before it is written.

// Refusal is a caller lockdown would have admitted but does not, because admitting it would
// let through requests that are denied today.
type Refusal struct {
	Workload string `json:"workload"` // or "Service NAME at waypoint NS/NAME"
	Caller   string `json:"caller"`
	Policy   string `json:"policy,omitempty"` // the policy lockdown refused to write, if any
	Why      string `json:"why"`
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s <- %s: %s", r.Workload, r.Caller, r.Why)
}

// baseline are the AuthorizationPolicies in force without lockdown's: what "before" means,
// on a first run as on a re-run.
func baseline(in Input) istio.Authorizer {
	var policies []*unstructured.Unstructured
	for _, ap := range slices.Concat(in.AuthorizationPolicies, in.MeshAuthorizationPolicies) {
		if !isOurs(ap) {
			policies = append(policies, ap)
		}
	}
	return istio.Authorizer{Policies: policies, RootNamespace: in.Mesh.RootNamespace}
}

// pointOf is where Istio enforces policy for w: its sidecar, its gateway proxy, or (ambient)
// its node's ztunnel; false for pods outside the mesh, where nothing is enforced.
func (p *Plan) pointOf(in Input, w *Workload) (istio.Point, bool) {
	point := istio.Point{Namespace: in.Namespace, Labels: w.labels}
	switch {
	case p.Gateways[w.Name]:
		point.At = istio.AtGateway
		if name := w.labels[istio.GatewayNameLabel]; name != "" {
			point.Gateway = in.Namespace + "/" + name
		}
	case w.Dataplane == istio.DataplaneSidecar:
		point.At = istio.AtSidecar
	case w.Dataplane == istio.DataplaneAmbient:
		point.At = istio.AtZtunnel
	default:
		return point, false
	}
	return point, true
}

// waypointPoint is where the waypoint of b enforces policy for its Service.
func waypointPoint(in Input, b WaypointBinding) istio.Point {
	p := istio.Point{At: istio.AtWaypoint, Namespace: in.Namespace, Gateway: b.Waypoint}
	if b.Service != "" {
		p.Service = in.Namespace + "/" + b.Service
	}
	return p
}

// keepExistingAllows leaves the workloads (and waypoints) that ALLOW policies already decide
// for as they are: no caller is added beside those policies. A caller they already admit for
// every request needs nothing; any other is refused, and said.
func (p *Plan) keepExistingAllows(in Input) {
	before := baseline(in)
	for name, callers := range p.Allowed {
		p.considered[name] = callers
	}
	for _, w := range p.Workloads {
		point, ok := p.pointOf(in, w)
		if !ok {
			continue
		}
		existing := before.Decide(point, istio.Request{Principal: istio.Unknown}).AllowPolicies
		if len(existing) == 0 {
			continue
		}
		p.Kept[w.Name] = existing
		candidates := p.Allowed[w.Name]
		if p.Gateways[w.Name] {
			candidates = []Caller{{Reason: "gateway"}} // every caller
		}
		p.refuseBeside(before, point, w.Name, existing, candidates, in.Mesh)
		delete(p.Allowed, w.Name)
	}
	for i := range p.Waypoints {
		b := &p.Waypoints[i]
		point := waypointPoint(in, *b)
		existing := before.Decide(point, istio.Request{Principal: istio.Unknown}).AllowPolicies
		if len(existing) == 0 {
			continue
		}
		b.Kept = existing
		p.refuseBeside(before, point, fmt.Sprintf("%s at waypoint %s", b.subject(), b.Waypoint), existing, b.Callers, in.Mesh)
		b.Callers = nil
	}
}

// refuseBeside records, for each candidate caller that the existing ALLOW policies do not
// admit for every request, that lockdown does not add it.
func (p *Plan) refuseBeside(before istio.Authorizer, point istio.Point, target string, existing []string, candidates []Caller, mesh istio.MeshConfig) {
	for _, c := range candidates {
		d := before.Decide(point, c.request(mesh))
		if d.Allowed == istio.Yes {
			continue
		}
		admits := "denies it"
		if d.Allowed == istio.Maybe {
			admits = "admits it only for some requests"
		}
		p.Refused = append(p.Refused, Refusal{Workload: target, Caller: c.describe(),
			Why: fmt.Sprintf("%s already decide%s who may call it and %s today; an ALLOW policy beside %s would widen it (Istio ORs ALLOW policies), so it stays as it is",
				strings.Join(existing, ", "), singular(existing), admits, them(existing))})
	}
}

func singular(list []string) string {
	if len(list) == 1 {
		return "s"
	}
	return ""
}

func them(list []string) string {
	if len(list) == 1 {
		return "it"
	}
	return "them"
}

// request is a request from c, for any operation: one service account's identity, or some
// identity of a namespace; a gateway's "every caller" is any request at all.
func (c Caller) request(mesh istio.MeshConfig) istio.Request {
	switch {
	case c.Namespace == "":
		return istio.Request{Principal: istio.Unknown, RequestPrincipal: istio.Unknown}
	case c.ServiceAccount == "":
		return istio.Request{Principal: c.trustDomain(mesh) + "/ns/" + c.Namespace + "/sa/" + istio.Unknown, RequestPrincipal: istio.Unknown}
	}
	return istio.Request{Principal: c.Principal(mesh), RequestPrincipal: istio.Unknown}
}

func (c Caller) describe() string {
	if c.Namespace == "" {
		return "every caller (" + c.Reason + ")"
	}
	return fmt.Sprintf("%s (%s)", c, c.Reason)
}

// podsNamed are the pods of in with these names.
func podsNamed(in Input, names []string) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range in.Pods {
		if slices.Contains(names, in.Pods[i].Name) {
			out = append(out, &in.Pods[i])
		}
	}
	return out
}
