package lockdown

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

func sidecarlessPod(name string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "legacy"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
	}
}

func TestOutsideMesh(t *testing.T) {
	pods := []corev1.Pod{
		sidecarlessPod("legacy-a"), sidecarlessPod("legacy-b"),
		{ObjectMeta: metav1.ObjectMeta{Name: "curl", Namespace: "legacy", Labels: map[string]string{"app": "curl-client"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "curl"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: "istio-system", Labels: map[string]string{"app": "istiod"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "discovery"}}}},
	}
	if got := strings.Join(OutsideMesh(pods, nil, istio.DefaultRootNamespace), ", "); got != "default/legacy, legacy/curl-client" {
		t.Errorf("OutsideMesh = %s", got)
	}
}

func labelledPod(name string, labels map[string]string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "istio-proxy"}}},
	}
}

// Pods of one app are one workload until a selector that decides something tells them apart;
// then each group gets a selector that covers exactly its pods, never a volatile label.
func TestWorkloadsAreDecidedPerPod(t *testing.T) {
	pods := []corev1.Pod{
		labelledPod("web-green-0", map[string]string{"app": "web", "track": "green", "pod-template-hash": "1"}),
		labelledPod("web-green-1", map[string]string{"app": "web", "track": "green", "pod-template-hash": "2"}),
		labelledPod("web-blue-0", map[string]string{"app": "web", "track": "blue", "pod-template-hash": "3"}),
		labelledPod("web-canary-0", map[string]string{"app": "web", "pod-template-hash": "4"}),
	}
	describe := func(ws []*Workload) string {
		var parts []string
		for _, w := range ws {
			parts = append(parts, fmt.Sprintf("%s=%s%v", w.Name, formatSelector(w.Selector), w.Overlaps))
		}
		return strings.Join(parts, " ")
	}
	if got := describe(mustWorkloads(pods, []map[string]string{{"app": "web"}})); got != "web=app=web[]" {
		t.Errorf("no selector tells them apart: %s", got)
	}
	got := describe(mustWorkloads(pods, []map[string]string{{"app": "web"}, {"app": "web", "track": "green"}}))
	// The blue pod and the one without a track answer every selector alike: one workload, which
	// matchLabels can only select by app (it cannot say "not green"), so it overlaps web-green.
	want := "web=app=web[web-green] web-green=app=web,track=green[]"
	if got != want {
		t.Errorf("green selected apart:\n got %s\nwant %s", got, want)
	}
	got = describe(mustWorkloads(pods[:3], []map[string]string{{"app": "web"}, {"app": "web", "track": "green"}}))
	if want := "web-blue=app=web,track=blue[] web-green=app=web,track=green[]"; got != want {
		t.Errorf("green and blue apart:\n got %s\nwant %s", got, want)
	}
}

func mustWorkloads(pods []corev1.Pod, selectors []map[string]string) []*Workload {
	ws, _ := workloadsOf(pods, selectors, nil)
	return ws
}
