package istio_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/graph"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
)

// lockdown --status and graph read PeerAuthentications through the same rule, so they name
// the same policy for a workload that two workload policies select: the oldest, as Istio
// picks it, wherever it stands in the list the API server returned.
func TestStatusAndGraphNameTheSamePolicy(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	workloadPolicy := func(name string, age time.Duration, mode string) *unstructured.Unstructured {
		pa := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
			"metadata": map[string]any{"name": name, "namespace": "shop"},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"app": "reviews"}},
				"mtls":     map[string]any{"mode": mode},
			},
		}}
		pa.SetCreationTimestamp(metav1.NewTime(created.Add(age)))
		return pa
	}
	// The newer one first, as a list sorted by name would give them.
	pas := []*unstructured.Unstructured{workloadPolicy("a-newer", time.Hour, istio.ModePermissive), workloadPolicy("z-older", 0, istio.ModeStrict)}

	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews-v1-0", Namespace: "shop", Labels: map[string]string{"app": "reviews", "version": "v1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "reviews"}, {Name: istio.ProxyContainer}}},
	}
	status := lockdown.ComputeStatus(lockdown.Input{Namespace: "shop", Mesh: istio.DefaultMeshConfig(), Pods: []corev1.Pod{pod}, PeerAuthentications: pas})
	if len(status.Workloads) != 1 {
		t.Fatalf("status has %d workloads, want 1: %+v", len(status.Workloads), status.Workloads)
	}
	if ws := status.Workloads[0]; ws.MTLS != istio.ModeStrict || ws.MTLSSource != "peerauthentication/z-older" {
		t.Errorf("lockdown --status: %s from %s, want STRICT from peerauthentication/z-older", ws.MTLS, ws.MTLSSource)
	}

	half := 0.5
	g := &graph.Graph{Edges: []graph.Edge{{
		Source:      graph.Workload{Namespace: "shop", Workload: "productpage-v1", App: "productpage", Version: "v1"},
		Destination: graph.Workload{Namespace: "shop", Workload: "reviews-v1", App: "reviews", Version: "v1"},
		Protocol:    "http", RPS: 1, MTLS: &half,
	}}}
	graph.CheckMTLS(g, pas, istio.DefaultRootNamespace)
	if w := g.Edges[0].Warning; !strings.Contains(w, "peerauthentication shop/z-older sets STRICT") {
		t.Errorf("graph warning %q does not name peerauthentication shop/z-older", w)
	}
}
