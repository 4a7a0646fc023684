package lockdown

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Labels and annotations that mark what lockdown wrote.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubectl-mesh"
	// RecordAnnotation is "created" on objects lockdown created; on a PeerAuthentication it
	// changed, it holds the spec, labels and annotations from before, for --undo.
	RecordAnnotation = "kubectl-mesh.dev/lockdown"
	created          = "created"

	DenyPolicyName = "kubectl-mesh-default-deny"
	allowPrefix    = "kubectl-mesh-allow-"
	// RootNamespace is Istio's default root namespace, where mesh-wide policies live.
	RootNamespace = "istio-system"
)

// Input is the cluster state a lockdown is planned from.
type Input struct {
	Namespace   string
	TrustDomain string
	Pods        []corev1.Pod     // in Namespace
	Services    []corev1.Service // in Namespace
	// PeerAuthentications and AuthorizationPolicies of Namespace.
	PeerAuthentications   []*unstructured.Unstructured
	AuthorizationPolicies []*unstructured.Unstructured
	// MeshPeerAuthentications are the root namespace's, for the status.
	MeshPeerAuthentications []*unstructured.Unstructured
	// VirtualServices and Gateways of every namespace, and the pods the Gateways select.
	VirtualServices []*unstructured.Unstructured
	Gateways        []*unstructured.Unstructured
	GatewayPods     []corev1.Pod
}

// Options are the user's choices, and what telemetry adds to them.
type Options struct {
	AllowFrom []Caller
	Force     bool
	// Observed is the traffic into the namespace that telemetry saw; OutsideMesh names the
	// workloads without a sidecar (namespace/workload), candidates for plaintext callers.
	Observed    []Observation
	OutsideMesh []string
}

// Write is one object to create (Before nil), update, or delete (After nil), with a line for
// people.
type Write struct {
	Before, After *unstructured.Unstructured
	Detail        string
}

// Plan is what lockdown (or undo) will write and what traffic is allowed afterwards.
type Plan struct {
	Namespace string
	Writes    []Write
	// Allowed lists, per workload, who may call it afterwards; a workload with no entry is
	// denied everything.
	Allowed   map[string][]Caller
	Workloads []*Workload
	Gateways  map[string]bool // workloads that are gateways: allowed every caller
	Warnings  []string
	// Observed says what happens to each edge telemetry saw into the namespace.
	Observed []Verdict
}

// Lockdown plans STRICT mTLS, default deny, and ALLOW policies for the callers that must keep
// working. Running it on a locked-down namespace plans no write.
func Lockdown(in Input, opts Options) (*Plan, error) {
	if in.Namespace == RootNamespace && !opts.Force {
		return nil, fmt.Errorf("namespace %s is Istio's root namespace: default deny there applies to the whole mesh and cuts istiod off; pass --force if you mean it", RootNamespace)
	}
	p := &Plan{Namespace: in.Namespace, Allowed: map[string][]Caller{}}
	if missing := podsWithoutSidecar(in.Pods); len(missing) > 0 {
		problem := fmt.Sprintf("%d pods in namespace %s have no istio-proxy sidecar and cannot serve STRICT mTLS: %s",
			len(missing), in.Namespace, strings.Join(missing, ", "))
		if !opts.Force {
			return nil, fmt.Errorf("%s\ninject the sidecar and restart them (or move them out), or pass --force", problem)
		}
		p.Warnings = append(p.Warnings, problem+" (going ahead: --force)")
	}
	workloads, unnamed := workloadsOf(in.Pods)
	p.Workloads = workloads
	if len(unnamed) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("pods without an app label get no ALLOW policy and will deny every caller: %s", strings.Join(unnamed, ", ")))
	}
	ing := findIngress(in, workloads)
	p.Warnings = append(p.Warnings, ing.warnings...)
	p.Gateways = gatewayWorkloads(workloads, in.Gateways)
	for _, w := range workloads {
		callers := appendCallers(nil, ing.callers[w.Name]...)
		callers = appendCallers(callers, opts.AllowFrom...)
		if len(callers) > 0 {
			p.Allowed[w.Name] = callers
		}
	}
	if plaintext := p.observedCallers(opts.Observed, opts.OutsideMesh); len(plaintext) > 0 {
		problem := "STRICT mTLS would reject traffic seen in telemetry:\n  " + strings.Join(plaintext, "\n  ")
		if !opts.Force {
			return nil, fmt.Errorf("%s\ngive those callers a sidecar first, or pass --force to cut them off", problem)
		}
		p.Warnings = append(p.Warnings, problem+"\n(cut off: --force)")
	}
	p.Warnings = append(p.Warnings, permissiveWorkloadPolicies(in.PeerAuthentications)...)
	p.Observed = p.Verdicts(opts.Observed)

	ours := managedPolicies(in.AuthorizationPolicies)
	var allows []Write
	for _, w := range workloads {
		var desired *unstructured.Unstructured
		switch {
		case p.Gateways[w.Name]:
			desired = allowPolicy(in.Namespace, w, nil, in.TrustDomain)
		case len(p.Allowed[w.Name]) > 0:
			desired = allowPolicy(in.Namespace, w, p.Allowed[w.Name], in.TrustDomain)
		default:
			continue
		}
		write, err := converge(ours, in.AuthorizationPolicies, desired, allowDetail(p, w))
		if err != nil {
			return nil, err
		}
		if write != nil {
			allows = append(allows, *write)
		}
		delete(ours, desired.GetName())
	}
	pa, paWarnings, err := peerAuthenticationWrite(in)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, paWarnings...)
	deny, err := converge(ours, in.AuthorizationPolicies, denyPolicy(in.Namespace), "deny by default: ALLOW nothing unless another policy does")
	if err != nil {
		return nil, err
	}
	delete(ours, DenyPolicyName)

	// ALLOW policies first, STRICT next, default deny last: at no moment is a caller that
	// must keep working denied.
	p.Writes = append(p.Writes, allows...)
	if pa != nil {
		p.Writes = append(p.Writes, *pa)
	}
	if deny != nil {
		p.Writes = append(p.Writes, *deny)
	}
	// Our ALLOW policies for workloads that are gone.
	for _, name := range sortedNames(ours) {
		p.Writes = append(p.Writes, Write{Before: ours[name], Detail: "workload gone"})
	}
	return p, nil
}

// managedPolicies are the AuthorizationPolicies lockdown created, by name.
func managedPolicies(policies []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	ours := map[string]*unstructured.Unstructured{}
	for _, ap := range policies {
		if isOurs(ap) {
			ours[ap.GetName()] = ap
		}
	}
	return ours
}

// isOurs: created by lockdown, as its label and record say. Both are required, so that a
// policy someone else labelled managed-by kubectl-mesh is still never deleted.
func isOurs(obj *unstructured.Unstructured) bool {
	return obj.GetLabels()[ManagedByLabel] == ManagedByValue && obj.GetAnnotations()[RecordAnnotation] == created
}

// converge returns the write that makes the cluster hold desired, or nil when it does.
func converge(ours map[string]*unstructured.Unstructured, all []*unstructured.Unstructured, desired *unstructured.Unstructured, detail string) (*Write, error) {
	existing, isOurs := ours[desired.GetName()]
	if !isOurs {
		for _, ap := range all {
			if ap.GetName() == desired.GetName() {
				return nil, fmt.Errorf("authorizationpolicy/%s exists and was not created by kubectl mesh lockdown: rename or remove it, lockdown will not overwrite it", ap.GetName())
			}
		}
		return &Write{After: desired, Detail: detail}, nil
	}
	after := existing.DeepCopy()
	after.Object["spec"] = desired.Object["spec"]
	if equality.Semantic.DeepEqual(after.Object, existing.Object) {
		return nil, nil
	}
	return &Write{Before: existing, After: after, Detail: detail}, nil
}

func newObject(kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1",
		"kind":       kind,
		"metadata": map[string]any{
			"name":        name,
			"namespace":   namespace,
			"labels":      map[string]any{ManagedByLabel: ManagedByValue},
			"annotations": map[string]any{RecordAnnotation: created},
		},
		"spec": spec,
	}}
}

// denyPolicy allows nothing: an ALLOW policy without rules, for every workload.
func denyPolicy(namespace string) *unstructured.Unstructured {
	return newObject("AuthorizationPolicy", namespace, DenyPolicyName, map[string]any{})
}

// allowPolicy admits callers to w; with no callers (a gateway) it admits every request.
func allowPolicy(namespace string, w *Workload, callers []Caller, trustDomain string) *unstructured.Unstructured {
	selector := map[string]any{}
	for k, v := range w.Selector {
		selector[k] = v
	}
	var rule map[string]any
	if callers == nil {
		rule = map[string]any{} // an empty rule matches every request
	} else {
		var principals, namespaces []any
		for _, c := range callers {
			if c.ServiceAccount == "" {
				namespaces = append(namespaces, c.Namespace)
			} else {
				principals = append(principals, c.Principal(trustDomain))
			}
		}
		// Fields of one source are ANDed, sources of one rule ORed: principals and namespaces
		// go in separate sources.
		var from []any
		if len(principals) > 0 {
			from = append(from, map[string]any{"source": map[string]any{"principals": principals}})
		}
		if len(namespaces) > 0 {
			from = append(from, map[string]any{"source": map[string]any{"namespaces": namespaces}})
		}
		rule = map[string]any{"from": from}
	}
	return newObject("AuthorizationPolicy", namespace, objectName(allowPrefix+w.Name), map[string]any{
		"selector": map[string]any{"matchLabels": selector},
		"action":   "ALLOW",
		"rules":    []any{rule},
	})
}

func allowDetail(p *Plan, w *Workload) string {
	if p.Gateways[w.Name] {
		return fmt.Sprintf("ALLOW every caller to gateway %s", w.Name)
	}
	var who []string
	for _, c := range p.Allowed[w.Name] {
		who = append(who, c.String())
	}
	return fmt.Sprintf("ALLOW %s from %s", w.Name, strings.Join(who, ", "))
}

// namespaceWide are the PeerAuthentications without a selector, oldest first: Istio honours
// only the oldest.
func namespaceWide(pas []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, pa := range pas {
		labels, _, _ := unstructured.NestedStringMap(pa.Object, "spec", "selector", "matchLabels")
		if len(labels) == 0 {
			out = append(out, pa)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i].GetCreationTimestamp(), out[j].GetCreationTimestamp()
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return out[i].GetName() < out[j].GetName()
	})
	return out
}

func mtlsMode(pa *unstructured.Unstructured) string {
	mode, _, _ := unstructured.NestedString(pa.Object, "spec", "mtls", "mode")
	if mode == "" {
		return "UNSET"
	}
	return mode
}

// previousState is what lockdown keeps of a PeerAuthentication it changed.
type previousState struct {
	Spec        map[string]any    `json:"spec,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// peerAuthenticationWrite sets the namespace-wide PeerAuthentication to STRICT: the existing
// one (whatever its name, its old state recorded for undo) or a new "default".
func peerAuthenticationWrite(in Input) (*Write, []string, error) {
	wide := namespaceWide(in.PeerAuthentications)
	var warnings []string
	if len(wide) == 0 {
		pa := newObject("PeerAuthentication", in.Namespace, "default", map[string]any{"mtls": map[string]any{"mode": "STRICT"}})
		return &Write{After: pa, Detail: "mtls STRICT (was not set: mesh default applies)"}, nil, nil
	}
	for _, extra := range wide[1:] {
		warnings = append(warnings, fmt.Sprintf("peerauthentication/%s is a second namespace-wide PeerAuthentication; Istio ignores all but the oldest (%s)", extra.GetName(), wide[0].GetName()))
	}
	current := wide[0]
	was := mtlsMode(current)
	if was == "STRICT" {
		return nil, warnings, nil // nothing to change, and so nothing for undo to restore
	}
	after := current.DeepCopy()
	if _, recorded := current.GetAnnotations()[RecordAnnotation]; !recorded {
		spec, _ := current.Object["spec"].(map[string]any)
		record, err := json.Marshal(previousState{Spec: spec, Labels: current.GetLabels(), Annotations: current.GetAnnotations()})
		if err != nil {
			return nil, nil, fmt.Errorf("recording peerauthentication/%s: %w", current.GetName(), err)
		}
		labels := after.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[ManagedByLabel] = ManagedByValue
		after.SetLabels(labels)
		annotations := after.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[RecordAnnotation] = string(record)
		after.SetAnnotations(annotations)
	}
	if err := unstructured.SetNestedField(after.Object, "STRICT", "spec", "mtls", "mode"); err != nil {
		return nil, nil, fmt.Errorf("peerauthentication/%s: %w", current.GetName(), err)
	}
	return &Write{Before: current, After: after, Detail: fmt.Sprintf("mtls STRICT (was %s)", was)}, warnings, nil
}

// permissiveWorkloadPolicies warns of workload PeerAuthentications that keep plaintext open:
// they override the namespace's STRICT for their workloads.
func permissiveWorkloadPolicies(pas []*unstructured.Unstructured) []string {
	var warnings []string
	for _, pa := range pas {
		labels, _, _ := unstructured.NestedStringMap(pa.Object, "spec", "selector", "matchLabels")
		if len(labels) == 0 {
			continue
		}
		modes := map[string]bool{mtlsMode(pa): true}
		ports, _, _ := unstructured.NestedMap(pa.Object, "spec", "portLevelMtls")
		for _, v := range ports {
			if m, ok := v.(map[string]any); ok {
				if mode, _ := m["mode"].(string); mode != "" {
					modes[mode] = true
				}
			}
		}
		for _, weak := range []string{"PERMISSIVE", "DISABLE"} {
			if modes[weak] {
				warnings = append(warnings, fmt.Sprintf("peerauthentication/%s keeps mTLS %s for workloads %s: lockdown leaves it as it is; delete it for STRICT everywhere",
					pa.GetName(), weak, formatSelector(labels)))
				break
			}
		}
	}
	return warnings
}

func formatSelector(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range sortedNames(labels) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
