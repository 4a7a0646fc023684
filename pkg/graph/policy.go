package graph

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// CheckMTLS flags edges whose telemetry contradicts the destination's effective
// PeerAuthentication: plaintext received where STRICT applies on every port, or mTLS where
// DISABLE does. The destination's pod labels are known to the telemetry only as app and
// version, so workload PeerAuthentications are matched on those.
func CheckMTLS(g *Graph, peerAuthentications []*unstructured.Unstructured, rootNamespace string) {
	checkMTLS(g, peerAuthentications, rootNamespace, func(*Edge) bool { return true })
}

// CheckMTLSIn is CheckMTLS for the edges into one cluster of several, against that cluster's
// PeerAuthentications: each cluster's istiod programs its own proxies.
func CheckMTLSIn(g *Graph, clusterID string, peerAuthentications []*unstructured.Unstructured, rootNamespace string) {
	checkMTLS(g, peerAuthentications, rootNamespace, func(e *Edge) bool { return e.Destination.Cluster == clusterID })
}

func checkMTLS(g *Graph, peerAuthentications []*unstructured.Unstructured, rootNamespace string, judged func(*Edge) bool) {
	for i := range g.Edges {
		e := &g.Edges[i]
		if e.MTLS == nil || !judged(e) {
			continue
		}
		labels := map[string]string{"app": e.Destination.App, "version": e.Destination.Version}
		m := istio.EffectiveMTLS(peerAuthentications, rootNamespace, e.Destination.Namespace, labels)
		switch {
		case m.Everywhere(istio.ModeStrict) && *e.MTLS < 1:
			e.Warning = fmt.Sprintf("plaintext received (%.0f%%) where %s sets STRICT", (1-*e.MTLS)*100, source(m))
		case m.Everywhere(istio.ModeDisable) && *e.MTLS > 0:
			e.Warning = fmt.Sprintf("mTLS received (%.0f%%) where %s sets DISABLE", *e.MTLS*100, source(m))
		}
	}
}

func source(m istio.MTLS) string {
	if m.Policy == nil {
		return "the mesh default"
	}
	return fmt.Sprintf("peerauthentication %s/%s", m.Policy.GetNamespace(), m.Policy.GetName())
}
