package sim

import (
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// An HTTPRoute attached to reviews splits its requests by weight over the version Services.
func TestHTTPRouteSplitsByWeight(t *testing.T) {
	svc := func(name string, selector map[string]string) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Spec: corev1.ServiceSpec{Selector: selector}}
	}
	pod := func(version string) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews-" + version, Namespace: "shop", Labels: map[string]string{"app": "reviews", "version": version}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
	}
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "reviews", "namespace": "shop"},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"group": "", "kind": "Service", "name": "reviews"}},
			"rules": []any{map[string]any{"backendRefs": []any{
				map[string]any{"name": "reviews-v1", "weight": int64(90)},
				map[string]any{"name": "reviews-v2", "weight": int64(10)},
			}}},
		},
	}}
	m := NewMesh(&Snapshot{
		Pods:       []corev1.Pod{pod("v1"), pod("v2")},
		Services:   []corev1.Service{svc("reviews", map[string]string{"app": "reviews"}), svc("reviews-v1", map[string]string{"app": "reviews", "version": "v1"}), svc("reviews-v2", map[string]string{"app": "reviews", "version": "v2"})},
		HTTPRoutes: []*unstructured.Unstructured{route},
	})
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	const n = 20000
	for range n {
		t := m.RouteMesh(rng, "shop", m.Service("reviews", "shop"), Request{Path: "/reviews/0", Method: "GET"})
		counts[t.Service.Name+"/"+t.Workload.Version]++
	}
	if share := float64(counts["reviews-v2/v2"]) / n; share < 0.09 || share > 0.11 || counts["reviews-v1/v1"]+counts["reviews-v2/v2"] != n {
		t.Errorf("split %v, want 90%% to reviews-v1 and 10%% to reviews-v2, reported as the version Services", counts)
	}
	// A parentRef that leaves the group out is in Gateway API's group: not attached.
	unstructured.SetNestedSlice(route.Object, []any{map[string]any{"kind": "Service", "name": "reviews"}}, "spec", "parentRefs")
	if got := m.httpRouteFor("shop", m.Service("reviews", "shop")); got != nil {
		t.Error("a parentRef without group attached the route")
	}
}
