package graph

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// RootNamespace holds mesh-wide PeerAuthentications.
const RootNamespace = "istio-system"

// CheckMTLS flags edges whose telemetry contradicts the destination's effective
// PeerAuthentication: plaintext received where STRICT applies, or mTLS where DISABLE does.
// Workload PeerAuthentications are matched on the app and version labels the telemetry
// carries.
func CheckMTLS(g *Graph, peerAuthentications []*unstructured.Unstructured) {
	for i := range g.Edges {
		e := &g.Edges[i]
		if e.MTLS == nil {
			continue
		}
		mode, from := effectiveMode(peerAuthentications, e.Destination)
		switch {
		case mode == "STRICT" && *e.MTLS < 1:
			e.Warning = fmt.Sprintf("plaintext received (%.0f%%) where %s sets STRICT", (1-*e.MTLS)*100, from)
		case mode == "DISABLE" && *e.MTLS > 0:
			e.Warning = fmt.Sprintf("mTLS received (%.0f%%) where %s sets DISABLE", *e.MTLS*100, from)
		}
	}
}

// effectiveMode resolves workload, then namespace, then mesh PeerAuthentication (the oldest
// at each level; UNSET defers), as Istio does.
func effectiveMode(pas []*unstructured.Unstructured, w Workload) (mode, from string) {
	labels := map[string]string{"app": w.App, "version": w.Version}
	var workload, namespace, mesh []*unstructured.Unstructured
	for _, pa := range pas {
		selector, _, _ := unstructured.NestedStringMap(pa.Object, "spec", "selector", "matchLabels")
		switch {
		case pa.GetNamespace() == w.Namespace && len(selector) > 0 && selects(selector, labels):
			workload = append(workload, pa)
		case pa.GetNamespace() == w.Namespace && len(selector) == 0:
			namespace = append(namespace, pa)
		case pa.GetNamespace() == RootNamespace && len(selector) == 0:
			mesh = append(mesh, pa)
		}
	}
	for _, level := range [][]*unstructured.Unstructured{workload, namespace, mesh} {
		if len(level) == 0 {
			continue
		}
		sort.SliceStable(level, func(i, j int) bool {
			ti, tj := level[i].GetCreationTimestamp(), level[j].GetCreationTimestamp()
			return ti.Before(&tj)
		})
		m, _, _ := unstructured.NestedString(level[0].Object, "spec", "mtls", "mode")
		if m != "" && m != "UNSET" {
			return m, fmt.Sprintf("peerauthentication %s/%s", level[0].GetNamespace(), level[0].GetName())
		}
	}
	return "PERMISSIVE", "the mesh default"
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
