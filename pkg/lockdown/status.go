package lockdown

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// WorkloadStatus is a workload's effective security: its mTLS mode and where it comes from,
// and who may call it.
type WorkloadStatus struct {
	Workload   string `json:"workload"`
	Pods       int    `json:"pods"`
	MTLS       string `json:"mtls"`       // STRICT, PERMISSIVE or DISABLE
	MTLSSource string `json:"mtlsSource"` // "peerauthentication/default", "mesh (...)"
	// Dataplane is how its pods are in the mesh: sidecar, ambient, "ambient + waypoint
	// NS/NAME", or none.
	Dataplane     string `json:"dataplane"`
	Authorization string `json:"authorization"`
}

// Status is a namespace's security posture.
type Status struct {
	Namespace     string `json:"namespace"`
	MeshMTLS      string `json:"meshMTLS"` // from the root namespace's PeerAuthentication, else PERMISSIVE
	MeshSource    string `json:"meshSource"`
	NamespaceMTLS string `json:"namespaceMTLS,omitempty"` // "" when no namespace-wide PeerAuthentication sets it
	NamespaceFrom string `json:"namespaceSource,omitempty"`
	// MeshPolicies are the root namespace's AuthorizationPolicies that apply to every
	// workload of the namespace, described: "ALLOW nothing (istio-system/deny-all)".
	MeshPolicies []string         `json:"meshPolicies,omitempty"`
	Workloads    []WorkloadStatus `json:"workloads"`
	LockedDown   bool             `json:"lockedDown"` // lockdown's default-deny policy is in place
	// Openings are existing ALLOW policies that keep admitting callers wholesale.
	Openings []Opening `json:"openings,omitempty"`
}

// ComputeStatus resolves, per workload, the PeerAuthentication that decides its mTLS mode
// (workload, then namespace, then mesh; UNSET inherits; the oldest wins at each level) and the
// AuthorizationPolicies that apply to it, as Istio does.
func ComputeStatus(in Input) Status {
	root := in.Mesh.RootNamespace
	pas := append(append([]*unstructured.Unstructured{}, in.MeshPeerAuthentications...), in.PeerAuthentications...)
	s := Status{Namespace: in.Namespace, MeshMTLS: istio.ModePermissive, MeshSource: "Istio's default"}
	levels := istio.SelectPeerAuthentications(pas, root, in.Namespace, nil)
	if mesh := levels.Mesh; mesh != nil && istio.MTLSMode(mesh) != istio.ModeUnset {
		s.MeshMTLS, s.MeshSource = istio.MTLSMode(mesh), fmt.Sprintf("peerauthentication/%s in %s", mesh.GetName(), root)
	}
	if ns := levels.Namespace; ns != nil && istio.MTLSMode(ns) != istio.ModeUnset {
		s.NamespaceMTLS, s.NamespaceFrom = istio.MTLSMode(ns), "peerauthentication/"+ns.GetName()
	}
	for _, ap := range in.AuthorizationPolicies {
		s.LockedDown = s.LockedDown || (ap.GetName() == DenyPolicyName && isOurs(ap))
	}
	aps := append(append([]*unstructured.Unstructured{}, in.AuthorizationPolicies...), in.MeshAuthorizationPolicies...)
	for _, ap := range in.MeshAuthorizationPolicies {
		if len(istio.WorkloadSelector(ap)) == 0 && istio.PolicyApplies(ap, root, in.Namespace, nil) {
			s.MeshPolicies = append(s.MeshPolicies, describePolicy(ap))
		}
	}
	workloads, _ := workloadsOf(in.Pods, decisionSelectors(in), in.NamespaceLabels)
	for _, w := range workloads {
		m := istio.EffectiveMTLS(pas, root, in.Namespace, w.labels)
		ws := WorkloadStatus{Workload: w.Name, Pods: len(w.Pods), MTLS: m.String(), MTLSSource: mtlsSource(m, in.Namespace, s.MeshSource), Dataplane: dataplaneOf(in, w)}
		ws.Authorization = authorization(istio.PoliciesFor(aps, root, in.Namespace, w.labels), in.Namespace)
		s.Workloads = append(s.Workloads, ws)
	}
	s.Openings = findOpenings(in, workloads)
	return s
}

// describePolicy says what a mesh-wide policy does: "ALLOW nothing (istio-system/deny-all)".
func describePolicy(ap *unstructured.Unstructured) string {
	what := istio.Action(ap)
	if rules, _, _ := unstructured.NestedSlice(ap.Object, "spec", "rules"); len(rules) == 0 && what == istio.ActionAllow {
		what = "ALLOW nothing: every request is denied unless another ALLOW policy admits it"
	} else if what == istio.ActionAllow {
		what = "ALLOW rules"
	} else {
		what += " rules"
	}
	return fmt.Sprintf("%s (authorizationpolicy %s/%s)", what, ap.GetNamespace(), ap.GetName())
}

// dataplaneOf names a workload's data plane, with the waypoints istiod sends its traffic
// through in ambient mode: those of the Services that select it, and its pods' own (a
// workload waypoint), each once.
func dataplaneOf(in Input, w *Workload) string {
	if w.Dataplane != istio.DataplaneAmbient {
		return w.Dataplane
	}
	var waypoints []string
	add := func(gw *unstructured.Unstructured) {
		if name := gw.GetNamespace() + "/" + gw.GetName(); !slices.Contains(waypoints, name) {
			waypoints = append(waypoints, name)
		}
	}
	for i := range in.Services {
		svc := &in.Services[i]
		if gw, _, _ := serviceWaypoint(in, svc); gw != nil && istio.SelectorMatches(svc.Spec.Selector, w.labels) {
			add(gw)
		}
	}
	for _, found := range workloadWaypoints(in, w) {
		if found.gateway != nil {
			add(found.gateway)
		}
	}
	if len(waypoints) == 0 {
		return w.Dataplane
	}
	return w.Dataplane + " + waypoint " + strings.Join(waypoints, ", ")
}

// mtlsSource says where a workload's mode comes from, as the status prints it.
func mtlsSource(m istio.MTLS, namespace, meshSource string) string {
	if m.Policy == nil || m.Policy.GetNamespace() != namespace {
		return "mesh (" + meshSource + ")"
	}
	return "peerauthentication/" + m.Policy.GetName()
}

// authorization summarises the policies applying to a workload with these labels, in Istio's
// order: CUSTOM, DENY, then ALLOW (no ALLOW policy: everything is allowed).
func authorization(policies []*unstructured.Unstructured, namespace string) string {
	var custom, deny []string
	var allowPolicies int
	var sources []string
	allowAll := false
	for _, ap := range policies {
		name := ap.GetName()
		if ap.GetNamespace() != namespace {
			name = ap.GetNamespace() + "/" + name
		}
		switch istio.Action(ap) {
		case istio.ActionCustom:
			custom = append(custom, name)
		case istio.ActionDeny:
			deny = append(deny, name)
		case istio.ActionAudit:
		default: // ALLOW
			allowPolicies++
			rules, _, _ := unstructured.NestedSlice(ap.Object, "spec", "rules")
			for _, r := range rules {
				rule, _ := r.(map[string]any)
				if len(rule) == 0 {
					allowAll = true
				}
				sources = append(sources, ruleSources(rule)...)
			}
		}
	}
	var parts []string
	if len(custom) > 0 {
		parts = append(parts, "CUSTOM "+strings.Join(custom, ","))
	}
	if len(deny) > 0 {
		parts = append(parts, "DENY rules in "+strings.Join(deny, ","))
	}
	switch {
	case allowPolicies == 0:
		parts = append(parts, "allow all (no ALLOW policy)")
	case allowAll:
		parts = append(parts, "allow all (an ALLOW rule matches every request)")
	case len(sources) == 0:
		parts = append(parts, "deny all (no ALLOW rule matches)")
	default:
		parts = append(parts, "allow from "+strings.Join(dedupe(sources), ", "))
	}
	return strings.Join(parts, "; ")
}

// ruleSources describes who a rule admits, briefly.
func ruleSources(rule map[string]any) []string {
	from, _ := rule["from"].([]any)
	if len(from) == 0 {
		return []string{"any source (rule without from)"}
	}
	var out []string
	for _, f := range from {
		source, _, _ := unstructured.NestedMap(f.(map[string]any), "source")
		for _, key := range []string{"principals", "namespaces", "ipBlocks", "requestPrincipals"} {
			values, _, _ := unstructured.NestedStringSlice(source, key)
			for _, v := range values {
				if key == "namespaces" {
					v = "namespace " + v
				}
				out = append(out, v)
			}
		}
	}
	return out
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// WriteStatus prints s as a header and a table.
func WriteStatus(w io.Writer, s Status) error {
	ns := "not set (inherits the mesh)"
	if s.NamespaceMTLS != "" {
		ns = s.NamespaceMTLS + " (" + s.NamespaceFrom + ")"
	}
	fmt.Fprintf(w, "namespace %s\n  mesh mTLS:      %s (%s)\n  namespace mTLS: %s\n", s.Namespace, s.MeshMTLS, s.MeshSource, ns)
	for _, p := range s.MeshPolicies {
		fmt.Fprintf(w, "  mesh policy:    %s\n", p)
	}
	switch {
	case s.LockedDown && len(s.Openings) > 0:
		fmt.Fprintf(w, "  locked down:    yes (authorizationpolicy/%s), but existing ALLOW policies still admit callers wholesale:\n", DenyPolicyName)
	case s.LockedDown:
		fmt.Fprintf(w, "  locked down:    yes (authorizationpolicy/%s)\n", DenyPolicyName)
	default:
		fmt.Fprintln(w, "  locked down:    no")
	}
	for _, o := range s.Openings {
		if s.LockedDown {
			fmt.Fprintf(w, "    %s\n", o)
		}
	}
	fmt.Fprintln(w)
	if len(s.Workloads) == 0 {
		_, err := fmt.Fprintln(w, "no workloads")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tPODS\tDATAPLANE\tMTLS\tAUTHORIZATION")
	for _, ws := range s.Workloads {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", ws.Workload, ws.Pods, ws.Dataplane, ws.MTLS, ws.Authorization)
	}
	return tw.Flush()
}
