package canary

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func reviewsPod(name string, labels map[string]string) corev1.Pod {
	all := map[string]string{"app": "reviews"}
	for k, v := range labels {
		all[k] = v
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: all}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

// The figures tell versions apart by destination_version as their reporter writes it: a
// waypoint (ambient) by canonical revision, so app.kubernetes.io/version before version;
// sidecars by the version label. Versions reported alike cannot be judged apart.
func TestFigureVersionIsAsTheReporterNamesPods(t *testing.T) {
	ambient := map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
	waypoints := []*unstructured.Unstructured{waypoint("waypoint", "istio-waypoint", "True")}
	tests := []struct {
		name         string
		nsLabels     map[string]string
		pods         []corev1.Pod
		v1, v2       string // FigureVersion of reviews-v1 and reviews-v2
		v1Err, v2Err string // or words of its error
	}{
		{name: "waypoint: canonical revision", nsLabels: ambient, pods: []corev1.Pod{
			reviewsPod("reviews-v1-0", map[string]string{"version": "v1", "app.kubernetes.io/version": "1.4.2"}),
			reviewsPod("reviews-v2-0", map[string]string{"version": "v2", "service.istio.io/canonical-revision": "canary"}),
		}, v1: "1.4.2", v2: "canary"},
		{name: "sidecars: version label", pods: []corev1.Pod{
			reviewsPod("reviews-v1-0", map[string]string{"version": "v1", "app.kubernetes.io/version": "1.4.2"}),
			reviewsPod("reviews-v2-0", map[string]string{"version": "v2", "app.kubernetes.io/version": "1.4.2"}),
		}, v1: "v1", v2: "v2"},
		{name: "waypoint: no pods yet, the selector's version", nsLabels: ambient, v1: "v1", v2: "v2"},
		{name: "waypoint: two versions reported alike", nsLabels: ambient, pods: []corev1.Pod{
			reviewsPod("reviews-v1-0", map[string]string{"version": "v1", "app.kubernetes.io/version": "1.4.2"}),
			reviewsPod("reviews-v2-0", map[string]string{"version": "v2", "app.kubernetes.io/version": "1.4.2"}),
		}, v1Err: `the pods of backend reviews-v1 and of reviews-v2 are both reported as version "1.4.2" by the waypoint (the canonical revision`,
			v2Err: `the pods of backend reviews-v2 and of reviews-v1 are both reported as version "1.4.2"`},
		{name: "waypoint: one version's pods under two revisions", nsLabels: ambient, pods: []corev1.Pod{
			reviewsPod("reviews-v1-0", map[string]string{"version": "v1", "app.kubernetes.io/version": "1.4.2"}),
			reviewsPod("reviews-v1-1", map[string]string{"version": "v1", "app.kubernetes.io/version": "1.4.3"}),
			reviewsPod("reviews-v2-0", map[string]string{"version": "v2"}),
		}, v1Err: "the pods of backend reviews-v1 are reported under several versions (1.4.2, 1.4.3) by the waypoint", v2: "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadGatewayAPIInput(t, "httproute-v1", allEndpointsReady)
			in.NamespaceLabels, in.Pods = tt.nsLabels, tt.pods
			if tt.nsLabels != nil {
				in.Waypoints = waypoints
			}
			plan, err := Compute(in, Request{Percent: percent(10)})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ backend, want, wantErr string }{{"reviews-v1", tt.v1, tt.v1Err}, {"reviews-v2", tt.v2, tt.v2Err}} {
				got, err := plan.FigureVersion(c.backend)
				switch {
				case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
					t.Errorf("%s: %q, %v; want an error containing %q", c.backend, got, err, c.wantErr)
				case c.wantErr == "" && (err != nil || got != c.want):
					t.Errorf("%s: %q, %v; want %q", c.backend, got, err, c.want)
				}
			}
		})
	}
}
