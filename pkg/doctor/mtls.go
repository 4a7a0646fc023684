package doctor

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// mtlsPosture: meshed namespaces still PERMISSIVE while others are STRICT (plaintext is
// accepted where the rest of the mesh refuses it), PeerAuthentications that DISABLE mTLS,
// and DestinationRules whose tls mode DISABLE sends plaintext to a host.
func mtlsPosture(in Input) []Finding {
	if in.Unknown[PolicyReads] {
		return nil
	}
	var findings []Finding
	modes := namespaceModes(in)
	var strict []string
	for ns, mode := range modes {
		if mode.Mode == istio.ModeStrict {
			strict = append(strict, ns)
		}
	}
	sort.Strings(strict)
	for _, ns := range slices.Sorted(maps.Keys(modes)) {
		if mode := modes[ns]; mode.Mode == istio.ModePermissive && len(strict) > 0 && in.inScope(ns) {
			findings = append(findings, Finding{Severity: Warning, Check: CheckMTLS, Object: Object{Kind: "Namespace", Name: ns},
				Why: fmt.Sprintf("still PERMISSIVE (%s) while %s %s STRICT: it accepts plaintext the rest of the mesh refuses", mode.Source(), output.Abbreviate(strict, 3), map[bool]string{true: "is", false: "are"}[len(strict) == 1]),
				Fix: fmt.Sprintf("kubectl mesh lockdown %s --dry-run, then without --dry-run", ns)})
		}
	}
	for _, pa := range in.PeerAuthentications {
		if in.inScope(pa.GetNamespace()) && disablesMTLS(pa) {
			findings = append(findings, Finding{Severity: Warning, Check: CheckMTLS, Object: objectOf(pa),
				Why: "sets mTLS DISABLE: its workloads take plaintext only, with no peer identity for authorization",
				Fix: "use PERMISSIVE while clients move into the mesh, then STRICT"})
		}
	}
	for _, dr := range in.DestinationRules {
		if in.inScope(dr.GetNamespace()) && disablesTLS(dr) {
			host, _, _ := unstructured.NestedString(dr.Object, "spec", "host")
			findings = append(findings, Finding{Severity: Warning, Check: CheckMTLS, Object: objectOf(dr),
				Why: fmt.Sprintf("trafficPolicy tls mode DISABLE: clients send plaintext to %s, which a STRICT destination refuses", host),
				Fix: "remove the tls setting (ISTIO_MUTUAL is automatic), or set mode: ISTIO_MUTUAL"})
		}
	}
	return findings
}

// namespaceModes is the namespace-wide mTLS mode of every meshed namespace: labelled for
// sidecars or ambient, running meshed pods (gateways aside: they take traffic from outside
// the mesh), or with a namespace-wide policy of its own.
func namespaceModes(in Input) map[string]istio.MTLS {
	meshed := map[string]bool{}
	for _, ns := range in.Namespaces {
		if injectionEnabled(ns.Labels) || istio.NamespaceIsAmbient(ns.Labels) {
			meshed[ns.Name] = true
		}
	}
	for i := range in.Pods {
		pod := &in.Pods[i]
		if istio.HasSidecar(pod) && !isGateway(pod) || istio.InAmbient(pod, in.namespaceLabels(pod.Namespace)) && !istio.IsWaypointPod(pod) {
			meshed[pod.Namespace] = true
		}
	}
	for _, pa := range in.PeerAuthentications {
		if pa.GetNamespace() != in.Mesh.RootNamespace && len(istio.WorkloadSelector(pa)) == 0 {
			meshed[pa.GetNamespace()] = true
		}
	}
	modes := map[string]istio.MTLS{}
	for ns := range meshed {
		modes[ns] = istio.EffectiveMTLS(in.PeerAuthentications, in.Mesh.RootNamespace, ns, nil)
	}
	return modes
}

func disablesMTLS(pa *unstructured.Unstructured) bool {
	if istio.MTLSMode(pa) == istio.ModeDisable {
		return true
	}
	ports, _, _ := unstructured.NestedMap(pa.Object, "spec", "portLevelMtls")
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok && m["mode"] == istio.ModeDisable {
			return true
		}
	}
	return false
}

// disablesTLS looks at a DestinationRule's traffic policy, its port-level settings and its
// subsets' policies. A tls block without a mode is DISABLE too (the enum's zero, which is
// also how Istio's clients write DISABLE): any tls block turns auto mTLS off.
func disablesTLS(dr *unstructured.Unstructured) bool {
	policies := []any{nested(dr.Object, "spec", "trafficPolicy")}
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	for _, s := range subsets {
		if m, ok := s.(map[string]any); ok {
			policies = append(policies, m["trafficPolicy"])
		}
	}
	for _, p := range policies {
		policy, _ := p.(map[string]any)
		if plaintext(policy) {
			return true
		}
		ports, _ := policy["portLevelSettings"].([]any)
		for _, port := range ports {
			if m, ok := port.(map[string]any); ok && plaintext(m) {
				return true
			}
		}
	}
	return false
}

// plaintext tells whether a traffic policy (or a port's) has a tls block of mode DISABLE.
func plaintext(policy map[string]any) bool {
	tls, ok := policy["tls"].(map[string]any)
	if !ok {
		return false
	}
	mode, _ := tls["mode"].(string)
	return mode == "" || mode == "DISABLE"
}

func nested(obj map[string]any, fields ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	return v
}
