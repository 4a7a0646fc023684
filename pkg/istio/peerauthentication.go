package istio

import (
	"fmt"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// mTLS modes of a PeerAuthentication. UNSET (or no mtls at all) inherits from the level above.
const (
	ModeStrict     = "STRICT"
	ModePermissive = "PERMISSIVE"
	ModeDisable    = "DISABLE"
	ModeUnset      = "UNSET"
)

// MTLSMode is pa's spec.mtls.mode; UNSET when it sets none.
func MTLSMode(pa *unstructured.Unstructured) string {
	mode, _, _ := unstructured.NestedString(pa.Object, "spec", "mtls", "mode")
	if mode == "" {
		return ModeUnset
	}
	return mode
}

// PeerAuthenticationLevels are the PeerAuthentications that count for one workload, one per
// level, as Istio picks them: the oldest namespace-wide one of the root namespace (mesh), the
// oldest namespace-wide one of the workload's namespace, and the oldest one of that namespace
// whose selector picks the workload. Selector policies in the root namespace count for no one.
type PeerAuthenticationLevels struct {
	Mesh, Namespace, Workload *unstructured.Unstructured
}

// SelectPeerAuthentications picks, among pas (any namespaces), the levels that count for a
// workload of namespace with these pod labels.
func SelectPeerAuthentications(pas []*unstructured.Unstructured, rootNamespace, namespace string, labels map[string]string) PeerAuthenticationLevels {
	var mesh, ns, workload []*unstructured.Unstructured
	for _, pa := range pas {
		selector := WorkloadSelector(pa)
		switch {
		case pa.GetNamespace() == rootNamespace && len(selector) == 0:
			mesh = append(mesh, pa)
		case pa.GetNamespace() != namespace || pa.GetNamespace() == rootNamespace:
		case len(selector) == 0:
			ns = append(ns, pa)
		case SelectorMatches(selector, labels):
			workload = append(workload, pa)
		}
	}
	return PeerAuthenticationLevels{Mesh: oldest(mesh), Namespace: oldest(ns), Workload: oldest(workload)}
}

// NamespaceWidePeerAuthentications are the PeerAuthentications of namespace without a
// selector, oldest first: Istio honours the first alone.
func NamespaceWidePeerAuthentications(pas []*unstructured.Unstructured, namespace string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, pa := range pas {
		if pa.GetNamespace() == namespace && len(WorkloadSelector(pa)) == 0 {
			out = append(out, pa)
		}
	}
	SortOldestFirst(out)
	return out
}

// MTLS is a workload's effective mTLS as Istio computes it.
type MTLS struct {
	// Mode is STRICT, PERMISSIVE or DISABLE.
	Mode string
	// Policy is the PeerAuthentication the mode comes from; nil when none sets it and Istio's
	// default (PERMISSIVE) applies.
	Policy *unstructured.Unstructured
	// Ports are the port-level modes of the workload's policy, UNSET resolved to Mode.
	Ports map[uint32]string
}

// Effective resolves the levels: mesh, then namespace, then workload, each overriding the one
// above unless it leaves mtls UNSET; port-level modes come from the workload policy alone.
func (l PeerAuthenticationLevels) Effective() MTLS {
	m := MTLS{Mode: ModePermissive}
	for _, pa := range []*unstructured.Unstructured{l.Mesh, l.Namespace, l.Workload} {
		if pa != nil && MTLSMode(pa) != ModeUnset {
			m.Mode, m.Policy = MTLSMode(pa), pa
		}
	}
	if l.Workload == nil {
		return m
	}
	ports, _, _ := unstructured.NestedMap(l.Workload.Object, "spec", "portLevelMtls")
	for key, v := range ports {
		port, err := strconv.ParseUint(key, 10, 32)
		if err != nil {
			continue // the API server's schema refuses such keys; nothing to honour
		}
		mode, _, _ := unstructured.NestedString(asMap(v), "mode")
		if mode == "" || mode == ModeUnset {
			mode = m.Mode
		}
		if m.Ports == nil {
			m.Ports = map[uint32]string{}
		}
		m.Ports[uint32(port)] = mode
	}
	return m
}

// EffectiveMTLS is the effective mTLS of a workload of namespace with these pod labels.
func EffectiveMTLS(pas []*unstructured.Unstructured, rootNamespace, namespace string, labels map[string]string) MTLS {
	return SelectPeerAuthentications(pas, rootNamespace, namespace, labels).Effective()
}

// Everywhere reports whether mode holds on every port (no port-level exception).
func (m MTLS) Everywhere(mode string) bool {
	if m.Mode != mode {
		return false
	}
	for _, p := range m.Ports {
		if p != mode {
			return false
		}
	}
	return true
}

// Anywhere reports whether mode holds on some port (the workload's mode or an exception).
func (m MTLS) Anywhere(mode string) bool {
	if m.Mode == mode {
		return true
	}
	for _, p := range m.Ports {
		if p == mode {
			return true
		}
	}
	return false
}

// Source names the policy the mode comes from: "peerauthentication NS/NAME", or Istio's default.
func (m MTLS) Source() string {
	if m.Policy == nil {
		return "Istio's default"
	}
	return fmt.Sprintf("peerauthentication %s/%s", m.Policy.GetNamespace(), m.Policy.GetName())
}

// String is the mode with its port exceptions: "STRICT (port 8080: PERMISSIVE)".
func (m MTLS) String() string {
	ports := make([]uint32, 0, len(m.Ports))
	for p, mode := range m.Ports {
		if mode != m.Mode {
			ports = append(ports, p)
		}
	}
	if len(ports) == 0 {
		return m.Mode
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	s := m.Mode + " ("
	for i, p := range ports {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("port %d: %s", p, m.Ports[p])
	}
	return s + ")"
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
