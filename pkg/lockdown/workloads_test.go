package lockdown

import (
	"fmt"
	"slices"
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

// Pods app=api,version=v1 and pods app=api-v1 are two workloads, whatever their names say:
// each policy selects exactly its own pods, and no two policies share a name.
func TestWorkloadKeysNeverCollide(t *testing.T) {
	describe := func(ws []*Workload) string {
		var parts []string
		for _, w := range ws {
			parts = append(parts, fmt.Sprintf("%s=%s%v%v", w.Name, formatSelector(w.Selector), w.Pods, w.Overlaps))
		}
		return strings.Join(parts, " ")
	}
	for _, tt := range []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"app and version beside app", []corev1.Pod{
			labelledPod("api-0", map[string]string{"app": "api", "version": "v1"}),
			labelledPod("legacy-0", map[string]string{"app": "api-v1"}),
		}, "api-v1=app=api-v1[legacy-0][] api-version-v1=app=api,version=v1[api-0][]"},
		{"names that one object name holds", []corev1.Pod{
			labelledPod("a-0", map[string]string{"app": "api.v1"}),
			labelledPod("b-0", map[string]string{"app": "API-v1"}),
			labelledPod("c-0", map[string]string{"app": "api-v1"}),
		}, "API-v1-43686d=app=API-v1[b-0][] api-v1-d18f60=app=api-v1[c-0][] api.v1-8f8820=app=api.v1[a-0][]"},
		{"one name from two app labels", []corev1.Pod{
			labelledPod("a-0", map[string]string{"app": "worker"}),
			labelledPod("b-0", map[string]string{"app.kubernetes.io/name": "worker"}),
		}, "name-worker=app.kubernetes.io/name=worker[b-0][] worker=app=worker[a-0][]"},
		{"an app without a version beside the app with one", []corev1.Pod{
			labelledPod("api-0", map[string]string{"app": "api"}),
			labelledPod("api-v2-0", map[string]string{"app": "api", "version": "v2"}),
		}, "api=app=api[api-0][api-v2] api-v2=app=api,version=v2[api-v2-0][]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := mustWorkloads(tt.pods, nil)
			if got := describe(ws); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
			policies := map[string]bool{}
			for _, w := range ws {
				name := objectName(allowPrefix + w.Name)
				if policies[name] {
					t.Errorf("two workloads' policies are named %s", name)
				}
				policies[name] = true
			}
			// The same pods in another order: the same names.
			reversed := slices.Clone(tt.pods)
			slices.Reverse(reversed)
			if got := describe(mustWorkloads(reversed, nil)); got != tt.want {
				t.Errorf("pods in another order:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Whatever the labels, no two workloads share a policy name, even where names are cut short
// to fit an object name, or a labelled name is another's plain one.
func TestUniqueNamesHoldsEverywhere(t *testing.T) {
	long := strings.Repeat("x", 63)
	pods := []corev1.Pod{
		labelledPod("a-0", map[string]string{"app": long, "version": long + "a"}),
		labelledPod("b-0", map[string]string{"app": long, "version": long + "b"}),
		labelledPod("c-0", map[string]string{"app": long + "-" + long, "version": "a"}),
		labelledPod("d-0", map[string]string{"app": "api", "version": "v1"}),
		labelledPod("e-0", map[string]string{"app": "api-v1"}),
		labelledPod("f-0", map[string]string{"app": "api-version-v1"}),
	}
	ws := mustWorkloads(pods, nil)
	seen := map[string]string{}
	for _, w := range ws {
		name := objectName(allowPrefix + w.Name)
		if other, ok := seen[name]; ok {
			t.Errorf("%s and %s share policy name %s", other, formatSelector(w.Selector), name)
		}
		seen[name] = formatSelector(w.Selector)
	}
	if len(ws) != len(pods) {
		t.Errorf("%d workloads of %d distinct selectors", len(ws), len(pods))
	}
}
