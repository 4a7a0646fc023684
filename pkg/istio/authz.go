package istio

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Tri is a three-valued answer: for a request whose attributes are partly unknown (any
// method, any path, an unknown caller), a rule may match for some values and not others.
type Tri int8

// No < Maybe < Yes: the order in which "allowed" grows.
const (
	No Tri = iota
	Maybe
	Yes
)

func (t Tri) String() string {
	return [...]string{"no", "for some requests", "yes"}[t]
}

func and(a, b Tri) Tri { return min(a, b) }
func or(a, b Tri) Tri  { return max(a, b) }
func not(a Tri) Tri    { return Yes - a }

// Unknown stands for an attribute whose value is not known: it may be any value. For
// Request.Principal it is an mTLS identity not known; for RequestPrincipal a token not known.
const Unknown = "\x00unknown"

// Request is what an enforcement point knows of one request. HTTP attributes ("" = any
// value) exist only for HTTP traffic: a TCP connection has none, and a rule that needs them
// never matches it as ALLOW (a DENY rule is enforced without them; at ztunnel a source,
// operation or condition left without L4 fields never matches).
type Request struct {
	// Principal is the mTLS peer's identity (TRUSTDOMAIN/ns/NS/sa/SA, without spiffe://); ""
	// for plaintext, which has none; Unknown for some identity; Unknown in place of one
	// segment (TD/ns/NS/sa/Unknown) for some identity of that shape.
	Principal string
	// RequestPrincipal is the validated JWT's ISS/SUB; "" for none; Unknown for any.
	RequestPrincipal string
	SourceIP         string // "" or Unknown: any
	Port             int    // destination port; 0: any
	TCP              bool   // no HTTP attributes
	Method, Path     string // "" or Unknown: any
	Host             string
	Headers          map[string]string // nil: any; names are case-insensitive
}

// Where Istio enforces AuthorizationPolicies.
const (
	AtSidecar  = "sidecar"
	AtGateway  = "gateway"
	AtZtunnel  = "ztunnel"
	AtWaypoint = "waypoint"
)

// Point is one place Istio enforces policy, for the requests to one destination.
type Point struct {
	At string // AtSidecar, AtGateway, AtZtunnel, AtWaypoint
	// Namespace and Labels are the destination pod's (sidecar, gateway, ztunnel).
	Namespace string
	Labels    map[string]string
	// Gateway names the Gateway API Gateway a gateway's pods or a waypoint run for
	// (namespace/name): targetRefs of kind Gateway naming it apply there.
	Gateway string
	// Service is the Service (namespace/name) a waypoint carries the request for: targetRefs
	// of kind Service naming it apply at the waypoint.
	Service string
}

func (p Point) String() string {
	switch p.At {
	case AtWaypoint:
		if p.Service == "" {
			return "waypoint " + p.Gateway
		}
		return fmt.Sprintf("waypoint %s (Service %s)", p.Gateway, p.Service)
	case AtGateway:
		return "gateway " + p.Namespace
	}
	return p.At
}

// RuleRef names one rule of one policy, with its content, so that an edited rule under the
// same name is a different rule.
type RuleRef struct {
	Policy string // namespace/name
	Index  int    // -1: the policy as a whole (an ALLOW policy without rules)
	Match  Tri
	body   string
}

func (r RuleRef) String() string {
	if r.Index < 0 {
		return r.Policy
	}
	return fmt.Sprintf("%s rule %d", r.Policy, r.Index)
}

// Decision is what a point decides for a request, and why.
type Decision struct {
	Allowed Tri
	// Denying and Allowing are the DENY and ALLOW rules that match the request (Yes or Maybe).
	Denying, Allowing []RuleRef
	// AllowPolicies are the ALLOW policies that apply at the point: with none, everything not
	// denied is allowed.
	AllowPolicies []string
	// Custom names CUSTOM policies that apply: an external authorizer decides, not evaluated.
	Custom []string
	// Reason says it in words: the policy and rule that decide.
	Reason string
}

// Authorizer evaluates AuthorizationPolicies as Istio does: CUSTOM aside, a matching DENY
// rule denies; with no ALLOW policy everything else is allowed; with ALLOW policies one of
// their rules must match. Policies marked istio.io/dry-run are not enforced.
type Authorizer struct {
	Policies      []*unstructured.Unstructured
	RootNamespace string
}

// DryRunAnnotation makes Istio evaluate a policy without enforcing it.
const DryRunAnnotation = "istio.io/dry-run"

// isDryRun: istiod reads the annotation with strconv.ParseBool ("true", "True", "1", ...).
func isDryRun(ap *unstructured.Unstructured) bool {
	dryRun, _ := strconv.ParseBool(ap.GetAnnotations()[DryRunAnnotation])
	return dryRun
}

// Applicable are the policies enforced at p.
func (a Authorizer) Applicable(p Point) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, ap := range a.Policies {
		if isDryRun(ap) {
			continue
		}
		if appliesAt(ap, p, a.RootNamespace) {
			out = append(out, ap)
		}
	}
	return out
}

// appliesAt: selector (and namespace-wide, and root-namespace) policies at a pod's sidecar,
// gateway or ztunnel; targetRefs (istiod's ShouldAttachPolicy) at gateways (kind Gateway of
// the policy's namespace) and waypoints (kind Gateway naming the waypoint, kind Service
// naming the Service the request is for, or, from the root namespace, GatewayClass
// istio-waypoint: every waypoint).
func appliesAt(ap *unstructured.Unstructured, p Point, root string) bool {
	if HasTargetRefs(ap) {
		for _, ref := range PolicyTargets(ap) {
			switch {
			case ref.Kind == "Gateway" && ref.Group == gatewayGroup && (p.At == AtGateway || p.At == AtWaypoint) &&
				ref.Namespace == ap.GetNamespace() && ref.Namespace+"/"+ref.Name == p.Gateway:
				return true
			case ref.Kind == "Service" && (ref.Group == "" || ref.Group == "core") && p.At == AtWaypoint &&
				ap.GetNamespace()+"/"+ref.Name == p.Service:
				return true
			case ref.Kind == "GatewayClass" && ref.Group == gatewayGroup && ref.Name == GatewayClassWaypoint &&
				p.At == AtWaypoint && ap.GetNamespace() == root:
				return true
			}
		}
		return false
	}
	if p.At == AtWaypoint {
		return false // waypoints ignore selector policies
	}
	if ap.GetNamespace() != p.Namespace && ap.GetNamespace() != root {
		return false
	}
	return SelectorMatches(WorkloadSelector(ap), p.Labels)
}

// gatewayGroup is the API group of Gateway and GatewayClass.
const gatewayGroup = "gateway.networking.k8s.io"

// PolicyTargets are a policy's targetRefs, or its legacy targetRef when it has none (as
// istiod's GetTargetRefs), in the policy's namespace unless the reference names another (which
// istiod never matches: a policy only targets objects of its own namespace).
func PolicyTargets(ap *unstructured.Unstructured) []Ref {
	list, _, _ := unstructured.NestedSlice(ap.Object, "spec", "targetRefs")
	if single, ok, _ := unstructured.NestedMap(ap.Object, "spec", "targetRef"); ok && len(list) == 0 {
		list = []any{single}
	}
	var out []Ref
	for _, item := range list {
		m := asMap(item)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		group, _ := m["group"].(string)
		namespace, _ := m["namespace"].(string)
		if namespace == "" {
			namespace = ap.GetNamespace()
		}
		out = append(out, Ref{Group: group, Kind: kind, Namespace: namespace, Name: name})
	}
	return out
}

// Decide evaluates the request r at p.
func (a Authorizer) Decide(p Point, r Request) Decision {
	var d Decision
	denied, allowed := No, No
	e := evaluation{r: r, mode: envoyHTTP}
	switch {
	case p.At == AtZtunnel:
		e.mode = ztunnelL4
	case r.TCP:
		e.mode = envoyTCP
	}
	for _, ap := range a.Applicable(p) {
		ref := ap.GetNamespace() + "/" + ap.GetName()
		e.namespace = ap.GetNamespace()
		switch Action(ap) {
		case ActionCustom:
			if p.At != AtZtunnel { // istiod sends ztunnel no CUSTOM policy
				d.Custom = append(d.Custom, ref)
			}
		case ActionDeny:
			e.allow = false
			for _, m := range e.matchingRules(ap, ref) {
				d.Denying = append(d.Denying, m)
				denied = or(denied, m.Match)
			}
		case ActionAllow:
			e.allow = true
			d.AllowPolicies = append(d.AllowPolicies, ref)
			for _, m := range e.matchingRules(ap, ref) {
				d.Allowing = append(d.Allowing, m)
				allowed = or(allowed, m.Match)
			}
		}
	}
	if len(d.AllowPolicies) == 0 {
		allowed = Yes
	}
	d.Allowed = and(not(denied), allowed)
	d.Reason = d.reason(denied)
	return d
}

// matchingRules are the rules of ap that match the request (Yes or Maybe). Where only L4 is
// enforced (ztunnel, or TCP traffic), an ALLOW rule that needs HTTP never matches and a DENY
// rule is enforced without its HTTP parts (see mode).
func (e evaluation) matchingRules(ap *unstructured.Unstructured, ref string) []RuleRef {
	rules, _, _ := unstructured.NestedSlice(ap.Object, "spec", "rules")
	var out []RuleRef
	for i, raw := range rules {
		if m := e.rule(raw); m != No {
			body, _ := json.Marshal(raw)
			out = append(out, RuleRef{Policy: ref, Index: i, Match: m, body: string(body)})
		}
	}
	return out
}

// reason says which policy and rule decide.
func (d Decision) reason(denied Tri) string {
	switch {
	case denied == Yes:
		return "denied by DENY " + firstYes(d.Denying).String()
	case len(d.AllowPolicies) == 0 && denied == No:
		return "allowed: no ALLOW policy applies"
	case len(d.AllowPolicies) == 0:
		return "allowed unless DENY " + refs(d.Denying) + " matches"
	case len(d.Allowing) == 0:
		return "denied: no ALLOW rule matches (ALLOW policies: " + strings.Join(d.AllowPolicies, ", ") + ")"
	case d.Allowed == Yes:
		return "allowed by ALLOW " + firstYes(d.Allowing).String()
	case denied == Maybe:
		return "allowed for some requests: DENY " + refs(d.Denying) + "; ALLOW " + refs(d.Allowing)
	}
	return "allowed only for the requests ALLOW " + refs(d.Allowing) + " matches"
}

func refs(list []RuleRef) string {
	names := make([]string, len(list))
	for i, r := range list {
		names[i] = r.String()
	}
	return strings.Join(names, ", ")
}

func firstYes(list []RuleRef) RuleRef {
	for _, r := range list {
		if r.Match == Yes {
			return r
		}
	}
	return list[0]
}

// Wider reports whether after allows a request that before did not, for the requests r
// stands for. With partly unknown requests both may allow "some": then after is no wider
// only when its allowing rules are among before's and its denying rules include before's.
// A CUSTOM policy gone (its external authorizer may have denied) widens too.
func Wider(before, after Decision) bool {
	switch {
	case after.Allowed == No:
		return false
	case slices.ContainsFunc(before.Custom, func(c string) bool { return !slices.Contains(after.Custom, c) }):
		return true
	case before.Allowed == Yes:
		return false
	case before.Allowed == No:
		return true
	}
	for _, deny := range before.Denying {
		if !containsRule(after.Denying, deny) {
			return true
		}
	}
	if len(before.AllowPolicies) == 0 {
		return false // before allowed all that no DENY matched; after denies at least that
	}
	if len(after.AllowPolicies) == 0 {
		return true
	}
	for _, allow := range after.Allowing {
		if !containsRule(before.Allowing, allow) {
			return true
		}
	}
	return false
}

func containsRule(list []RuleRef, r RuleRef) bool {
	return slices.ContainsFunc(list, func(x RuleRef) bool {
		return x.Policy == r.Policy && x.Index == r.Index && x.body == r.body && x.Match >= r.Match
	})
}

// IsDryRun reports whether Istio evaluates ap without enforcing it (istio.io/dry-run).
func IsDryRun(ap *unstructured.Unstructured) bool { return isDryRun(ap) }

// DryRunVerdicts say what the dry-run policies that would apply at p would do to r, had they
// been enforced: Istio logs these decisions, and why reports them beside the real one.
func (a Authorizer) DryRunVerdicts(p Point, r Request) []string {
	var out []string
	for _, ap := range a.Policies {
		if !isDryRun(ap) || !appliesAt(ap, p, a.RootNamespace) {
			continue
		}
		enforced := ap.DeepCopy()
		annotations := enforced.GetAnnotations()
		delete(annotations, DryRunAnnotation)
		enforced.SetAnnotations(annotations)
		d := Authorizer{Policies: []*unstructured.Unstructured{enforced}, RootNamespace: a.RootNamespace}.Decide(p, r)
		ref := ap.GetNamespace() + "/" + ap.GetName()
		some := ""
		if d.Allowed == Maybe {
			some = " for some requests"
		}
		switch {
		case Action(ap) == ActionDeny && d.Allowed != Yes:
			out = append(out, fmt.Sprintf("dry-run DENY %s would deny it%s", ref, some))
		case Action(ap) == ActionAllow && d.Allowed != Yes:
			out = append(out, fmt.Sprintf("dry-run ALLOW %s would not admit it%s", ref, some))
		case Action(ap) == ActionAllow || Action(ap) == ActionDeny:
			out = append(out, fmt.Sprintf("dry-run %s %s would let it through", Action(ap), ref))
		}
	}
	return out
}
