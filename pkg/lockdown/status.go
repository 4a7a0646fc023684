package lockdown

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// WorkloadStatus is a workload's effective security: its mTLS mode and where it comes from,
// and who may call it.
type WorkloadStatus struct {
	Workload      string `json:"workload"`
	Pods          int    `json:"pods"`
	MTLS          string `json:"mtls"`       // STRICT, PERMISSIVE or DISABLE
	MTLSSource    string `json:"mtlsSource"` // "peerauthentication/default", "mesh (...)"
	Authorization string `json:"authorization"`
}

// Status is a namespace's security posture.
type Status struct {
	Namespace     string           `json:"namespace"`
	MeshMTLS      string           `json:"meshMTLS"` // from the root namespace's PeerAuthentication, else PERMISSIVE
	MeshSource    string           `json:"meshSource"`
	NamespaceMTLS string           `json:"namespaceMTLS,omitempty"` // "" when no namespace-wide PeerAuthentication sets it
	NamespaceFrom string           `json:"namespaceSource,omitempty"`
	Workloads     []WorkloadStatus `json:"workloads"`
	LockedDown    bool             `json:"lockedDown"` // lockdown's default-deny policy is in place
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
	workloads, _ := workloadsOf(in.Pods)
	for _, w := range workloads {
		m := istio.EffectiveMTLS(pas, root, in.Namespace, w.labels)
		ws := WorkloadStatus{Workload: w.Name, Pods: len(w.Pods), MTLS: m.String(), MTLSSource: mtlsSource(m, in.Namespace, s.MeshSource)}
		policies := istio.PoliciesFor(in.AuthorizationPolicies, root, in.Namespace, w.labels)
		ws.Authorization = authorization(policies)
		s.Workloads = append(s.Workloads, ws)
	}
	return s
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
func authorization(policies []*unstructured.Unstructured) string {
	var custom, deny []string
	var allowPolicies int
	var sources []string
	allowAll := false
	for _, ap := range policies {
		switch istio.Action(ap) {
		case istio.ActionCustom:
			custom = append(custom, ap.GetName())
		case istio.ActionDeny:
			deny = append(deny, ap.GetName())
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
	if s.LockedDown {
		fmt.Fprintf(w, "  locked down:    yes (authorizationpolicy/%s)\n", DenyPolicyName)
	} else {
		fmt.Fprintln(w, "  locked down:    no")
	}
	fmt.Fprintln(w)
	if len(s.Workloads) == 0 {
		_, err := fmt.Fprintln(w, "no workloads")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tPODS\tMTLS\tAUTHORIZATION")
	for _, ws := range s.Workloads {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", ws.Workload, ws.Pods, ws.MTLS, ws.Authorization)
	}
	return tw.Flush()
}
