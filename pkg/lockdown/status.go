package lockdown

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
// (workload, then namespace, then mesh; UNSET inherits) and the AuthorizationPolicies that
// apply to it.
func ComputeStatus(in Input) Status {
	s := Status{Namespace: in.Namespace, MeshMTLS: "PERMISSIVE", MeshSource: "Istio's default"}
	if wide := namespaceWide(in.MeshPeerAuthentications); len(wide) > 0 && mtlsMode(wide[0]) != "UNSET" {
		s.MeshMTLS, s.MeshSource = mtlsMode(wide[0]), fmt.Sprintf("peerauthentication/%s in %s", wide[0].GetName(), RootNamespace)
	}
	if wide := namespaceWide(in.PeerAuthentications); len(wide) > 0 && mtlsMode(wide[0]) != "UNSET" {
		s.NamespaceMTLS, s.NamespaceFrom = mtlsMode(wide[0]), "peerauthentication/"+wide[0].GetName()
	}
	for _, ap := range in.AuthorizationPolicies {
		s.LockedDown = s.LockedDown || (ap.GetName() == DenyPolicyName && isOurs(ap))
	}
	workloads, _ := workloadsOf(in.Pods)
	for _, w := range workloads {
		ws := WorkloadStatus{Workload: w.Name, Pods: len(w.Pods)}
		ws.MTLS, ws.MTLSSource = s.MeshMTLS, "mesh ("+s.MeshSource+")"
		if s.NamespaceMTLS != "" {
			ws.MTLS, ws.MTLSSource = s.NamespaceMTLS, s.NamespaceFrom
		}
		for _, pa := range in.PeerAuthentications {
			labels, _, _ := unstructured.NestedStringMap(pa.Object, "spec", "selector", "matchLabels")
			if len(labels) > 0 && matchesLabels(labels, w.labels) && mtlsMode(pa) != "UNSET" {
				ws.MTLS, ws.MTLSSource = mtlsMode(pa), "peerauthentication/"+pa.GetName()
			}
		}
		ws.Authorization = authorization(in.AuthorizationPolicies, w.labels, in.TrustDomain)
		s.Workloads = append(s.Workloads, ws)
	}
	return s
}

// authorization summarises the policies applying to a workload with these labels, in Istio's
// order: CUSTOM, DENY, then ALLOW (no ALLOW policy: everything is allowed).
func authorization(policies []*unstructured.Unstructured, labels map[string]string, trustDomain string) string {
	var custom, deny []string
	var allowPolicies int
	var sources []string
	allowAll := false
	for _, ap := range policies {
		selector, _, _ := unstructured.NestedStringMap(ap.Object, "spec", "selector", "matchLabels")
		if len(selector) > 0 && !matchesLabels(selector, labels) {
			continue
		}
		action, _, _ := unstructured.NestedString(ap.Object, "spec", "action")
		switch action {
		case "CUSTOM":
			custom = append(custom, ap.GetName())
		case "DENY":
			deny = append(deny, ap.GetName())
		case "AUDIT":
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
