package lockdown

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/owners"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Names and the annotation that mark what lockdown wrote (with istio.ManagedByLabel).
const (
	// RecordAnnotation is "created" on objects lockdown created; on a PeerAuthentication it
	// changed, it holds the spec, labels and annotations from before, for --undo.
	RecordAnnotation = "kubectl-mesh.dev/lockdown"
	created          = "created"

	DenyPolicyName = "kubectl-mesh-default-deny"
	allowPrefix    = "kubectl-mesh-allow-"
	waypointPrefix = "kubectl-mesh-waypoint-allow-"
)

// Input is the cluster state a lockdown is planned from.
type Input struct {
	Namespace string
	// NamespaceLabels say whether the namespace is in ambient mode and uses a waypoint.
	NamespaceLabels map[string]string
	Mesh            istio.MeshConfig
	Pods            []corev1.Pod     // in Namespace
	Services        []corev1.Service // in Namespace
	// PeerAuthentications and AuthorizationPolicies of Namespace.
	PeerAuthentications   []*unstructured.Unstructured
	AuthorizationPolicies []*unstructured.Unstructured
	// MeshPeerAuthentications and MeshAuthorizationPolicies are the root namespace's: they
	// apply mesh-wide.
	MeshPeerAuthentications   []*unstructured.Unstructured
	MeshAuthorizationPolicies []*unstructured.Unstructured
	// VirtualServices and Istio Gateways of every namespace; Gateway API Gateways (K8sGateways)
	// and the routes attached to them (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute); and the
	// pods of both kinds of gateway.
	VirtualServices []*unstructured.Unstructured
	Gateways        []*unstructured.Unstructured
	K8sGateways     []*unstructured.Unstructured
	Routes          []*unstructured.Unstructured
	GatewayPods     []corev1.Pod
	// ReferenceGrants of Namespace: a route of another namespace sends to its Services only
	// when one allows it.
	ReferenceGrants []*unstructured.Unstructured
	// GatewayClasses are the waypoint's class (istio-waypoint), when it exists: its
	// istio.io/waypoint-for label says what its waypoints carry, unless a waypoint says.
	GatewayClasses []*unstructured.Unstructured
}

// Options are the user's choices, and what telemetry adds to them.
type Options struct {
	AllowFrom []Caller
	Force     bool
	// DryRun plans past what would stop a lockdown without --force (pods outside the mesh,
	// plaintext callers, a GitOps owner, the root namespace): each is kept in Plan.Blockers and
	// planning goes on as --force would, so that a dry run shows the plan beside its blockers.
	// Nothing may be written from a plan with blockers.
	DryRun bool
	// Observed is the traffic into the namespace that telemetry saw; OutsideMesh names the
	// workloads without a sidecar (namespace/workload), candidates for plaintext callers.
	Observed    []Observation
	OutsideMesh []string
}

// Plan is what lockdown (or undo) will write and what traffic is allowed afterwards.
type Plan struct {
	Namespace string
	// Changes are the writes, in the order they must be made.
	Changes []change.Change
	// Allowed lists, per workload, who may call it afterwards; a workload with no entry is
	// denied everything.
	Allowed   map[string][]Caller
	Workloads []*Workload
	Gateways  map[string]bool // workloads that are gateways: allowed every caller
	// Openings are existing ALLOW policies that keep admitting callers wholesale.
	Openings []Opening
	// Kept names, per workload, the existing ALLOW policies that already decide who may call
	// it: lockdown adds nothing beside them (Istio ORs ALLOW policies), so they stay as they are.
	Kept map[string][]string
	// Refused are the callers lockdown did not admit because that would widen access.
	Refused []Refusal
	// Waypoints are the Services whose traffic a waypoint carries (ambient mode): their
	// callers are allowed at the waypoint, the waypoint at the workloads.
	Waypoints []WaypointBinding
	Warnings  []string
	// Observed says what happens to each edge telemetry saw into the namespace.
	Observed []Verdict
	// Blockers are what would have stopped this plan without --force (Options.DryRun only).
	Blockers []string

	// considered are the callers each workload would have been given, before
	// keepExistingAllows: the narrowing check tries them all; seen is the telemetry.
	considered map[string][]Caller
	seen       []Observation
	// after evaluates the policies in force once the plan is written.
	after istio.Authorizer
	mesh  istio.MeshConfig
}

// Lockdown plans STRICT mTLS, default deny, and ALLOW policies for the callers that must keep
// working. Running it on a locked-down namespace plans no write.
func Lockdown(in Input, opts Options) (*Plan, error) {
	p := &Plan{Namespace: in.Namespace, Allowed: map[string][]Caller{}, Kept: map[string][]string{}, considered: map[string][]Caller{}, mesh: in.Mesh}
	if in.Namespace == in.Mesh.RootNamespace && !opts.Force {
		if err := p.block(opts, fmt.Errorf("namespace %s is Istio's root namespace: default deny there applies to the whole mesh and cuts istiod off; pass --force if you mean it", in.Namespace)); err != nil {
			return nil, err
		}
	}
	if err := p.preflight(in, opts); err != nil {
		return nil, err
	}
	p.allowFromConfig(in, opts.AllowFrom)
	if err := p.allowFromTraffic(opts); err != nil {
		return nil, err
	}
	p.bindWaypoints(in)
	p.keepExistingAllows(in)
	p.Warnings = append(p.Warnings, permissiveWorkloadPolicies(in.PeerAuthentications)...)
	p.Warnings = append(p.Warnings, l7Warnings(in, p.Workloads)...)
	if err := p.planChanges(in); err != nil {
		return nil, err
	}
	p.Observed = p.Verdicts(in, opts.Observed)
	if err := p.checkOwners(opts); err != nil {
		return nil, err
	}
	return p, nil
}

// block is a refusal that --force would override: the error that stops the plan, or, in a dry
// run, a blocker recorded while planning goes on.
func (p *Plan) block(opts Options, refusal error) error {
	if !opts.DryRun {
		return refusal
	}
	p.Blockers = append(p.Blockers, refusal.Error())
	return nil
}

// checkOwners refuses to change an existing object (the namespace's PeerAuthentication) that
// a GitOps tool applies, unless forced: its next sync would put it back, and the namespace
// would be half locked down (default deny without STRICT). With --force it is a warning.
func (p *Plan) checkOwners(opts Options) error {
	for _, c := range p.Changes {
		if c.Before == nil {
			continue
		}
		owner := owners.Of(c.Before, nil)
		if err := owners.Refusal(c.Before, owner, opts.Force); err != nil {
			if err := p.block(opts, err); err != nil {
				return err
			}
			continue
		}
		if owner.Kind != owners.None {
			p.Warnings = append(p.Warnings, owners.Warning(c.Before, owner))
		}
	}
	return nil
}

// preflight stops on pods that cannot serve STRICT mTLS, outside the mesh (warns with force).
func (p *Plan) preflight(in Input, opts Options) error {
	missing := podsOutsideMesh(in.Pods, in.NamespaceLabels)
	if len(missing) == 0 {
		return nil
	}
	problem := fmt.Sprintf("%d pods in namespace %s have no istio-proxy sidecar and are not in ambient mode, so they cannot serve STRICT mTLS: %s",
		len(missing), in.Namespace, strings.Join(missing, ", "))
	if !opts.Force {
		return p.block(opts, fmt.Errorf("%s\ninject the sidecar and restart them, or enroll them in ambient mode (label istio.io/dataplane-mode=ambient), or move them out; or pass --force", problem))
	}
	p.Warnings = append(p.Warnings, problem+" (going ahead: --force)")
	return nil
}

// allowFromConfig groups the namespace's pods into workloads and allows, per workload, the
// ingress gateways that route to it and the --allow-from callers; gateways running in the
// namespace keep every caller.
func (p *Plan) allowFromConfig(in Input, allowFrom []Caller) {
	workloads, unnamed := workloadsOf(in.Pods, decisionSelectors(in), in.NamespaceLabels)
	p.Workloads = workloads
	if len(unnamed) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("pods without an app label get no ALLOW policy and will deny every caller: %s", strings.Join(unnamed, ", ")))
	}
	for _, w := range workloads {
		if len(w.Overlaps) > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("workload %s (selector %s) has no label that sets it apart from %s: its ALLOW policy covers those pods too",
				w.Name, formatSelector(w.Selector), strings.Join(w.Overlaps, ", ")))
		}
	}
	p.Openings = findOpenings(in, workloads)
	ing := findIngress(in, workloads)
	p.Warnings = append(p.Warnings, ing.warnings...)
	var gatewayWarnings []string
	p.Gateways, gatewayWarnings = gatewayWorkloads(workloads, in)
	p.Warnings = append(p.Warnings, gatewayWarnings...)
	for _, w := range workloads {
		callers := appendCallers(nil, ing.callers[w.Name]...)
		callers = appendCallers(callers, allowFrom...)
		if len(callers) > 0 {
			p.Allowed[w.Name] = callers
		}
	}
}

// allowFromTraffic adds the mTLS callers telemetry saw, and stops on plaintext traffic that
// STRICT would reject (warns with force).
func (p *Plan) allowFromTraffic(opts Options) error {
	if plaintext := p.observedCallers(opts.Observed, opts.OutsideMesh); len(plaintext) > 0 {
		problem := "STRICT mTLS would reject traffic seen in telemetry:\n  " + strings.Join(plaintext, "\n  ")
		if !opts.Force {
			if err := p.block(opts, fmt.Errorf("%s\nbring those callers into the mesh first (a sidecar, or ambient mode), or pass --force to cut them off", problem)); err != nil {
				return err
			}
		} else {
			p.Warnings = append(p.Warnings, problem+"\n(cut off: --force)")
		}
	}
	p.seen = opts.Observed
	return nil
}

// planChanges converges the namespace's policies on the plan, once the evaluator has found
// it no wider than today, in the order that never denies a caller that must keep working:
// ALLOW policies first, STRICT next, default deny last; then our ALLOW policies for workloads
// that are gone.
func (p *Plan) planChanges(in Input) error {
	desired, err := p.verifyNarrowing(in, p.desiredPolicies(in))
	if err != nil {
		return err
	}
	ours := managedPolicies(in.AuthorizationPolicies)
	var allows, deny []change.Change
	for _, d := range desired {
		c, err := converge(ours, in.AuthorizationPolicies, d.object, d.detail)
		if err != nil {
			return err
		}
		delete(ours, d.object.GetName())
		switch {
		case c == nil:
		case d.object.GetName() == DenyPolicyName:
			deny = append(deny, *c)
		default:
			allows = append(allows, *c)
		}
	}
	pa, paWarnings, err := peerAuthenticationChange(in)
	if err != nil {
		return err
	}
	p.Warnings = append(p.Warnings, paWarnings...)
	p.Changes = append(p.Changes, allows...)
	if pa != nil {
		p.Changes = append(p.Changes, *pa)
	}
	p.Changes = append(p.Changes, deny...)
	for _, name := range slices.Sorted(maps.Keys(ours)) {
		p.Changes = append(p.Changes, change.Change{Before: ours[name], Detail: "no longer planned: workload gone, or its callers now decided by other policies"})
	}
	return nil
}

// desiredPolicies are lockdown's AuthorizationPolicies as the plan wants them: an ALLOW
// policy per workload with callers to keep, one per waypoint binding, and default deny.
func (p *Plan) desiredPolicies(in Input) []desiredPolicy {
	var out []desiredPolicy
	for _, w := range p.Workloads {
		if desired := p.allowPolicyFor(in, w); desired != nil {
			out = append(out, desiredPolicy{desired, allowDetail(p, w)})
		}
	}
	for _, b := range p.Waypoints {
		if len(b.Kept) == 0 {
			out = append(out, desiredPolicy{waypointPolicy(in.Namespace, b, in.Mesh), waypointDetail(b)})
		}
	}
	return append(out, desiredPolicy{denyPolicy(in.Namespace), "deny by default: ALLOW nothing unless another policy does"})
}

// allowPolicyFor is the ALLOW policy w needs: every caller for a gateway, its allow-list
// otherwise; nil when nobody is to be allowed.
func (p *Plan) allowPolicyFor(in Input, w *Workload) *unstructured.Unstructured {
	switch {
	case len(p.Kept[w.Name]) > 0:
		return nil // its own ALLOW policies decide, as before
	case p.Gateways[w.Name]:
		return allowAllPolicy(in.Namespace, w)
	case len(p.Allowed[w.Name]) > 0:
		return allowPolicy(in.Namespace, w, p.Allowed[w.Name], in.Mesh)
	}
	return nil
}
