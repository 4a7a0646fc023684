package cmd

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

var virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// canaryCluster is newFakeCluster(3, 1) with an istiod running with CLUSTER_ID id.
func canaryCluster(t *testing.T, id string) *fakeCluster {
	t.Helper()
	f := newFakeCluster(3, 1)
	vs, err := f.dynamic.Resource(virtualServices).Namespace("default").Get(t.Context(), "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	istiod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "istiod", "namespace": "istio-system", "labels": map[string]any{"app": "istiod"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
			"name": "discovery", "env": []any{map[string]any{"name": "CLUSTER_ID", "value": id}},
		}}}}},
	}}
	f.dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		virtualServices: "VirtualServiceList",
		{Group: "apps", Version: "v1", Resource: "deployments"}:                     "DeploymentList",
		{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}: "HTTPRouteList",
		{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "grpcroutes"}: "GRPCRouteList",
		{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}:           "RolloutList",
	}, vs, istiod)
	return f
}

// twoCanaryClusters: contexts east and west, reviews routed all to v1 in each.
func twoCanaryClusters(t *testing.T) (root, east, west *fakeCluster) {
	east, west = canaryCluster(t, "cluster-east"), canaryCluster(t, "cluster-west")
	root = newFakeCluster(1, 1)
	root.contexts = map[string]*fakeCluster{"east": east, "west": west}
	return root, east, west
}

// canaryWeights reads the fake cluster's VirtualService reviews as "v1 90, v2 10".
func canaryWeights(t *testing.T, f *fakeCluster) string {
	t.Helper()
	vs, err := f.dynamic.Resource(virtualServices).Namespace("default").Get(t.Context(), "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return canaryRouteWeights(vs)
}

func canaryRouteWeights(vs *unstructured.Unstructured) string {
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	var parts []string
	for _, e := range http[0].(map[string]any)["route"].([]any) {
		subset, _, _ := unstructured.NestedString(e.(map[string]any), "destination", "subset")
		weight, found, _ := unstructured.NestedInt64(e.(map[string]any), "weight")
		if !found {
			weight = 100
		}
		parts = append(parts, fmt.Sprintf("%s %d", subset, weight))
	}
	return strings.Join(parts, ", ")
}

// A step written in both clusters, each named by its cluster ID and context.
func TestCanaryContextsStepsEveryCluster(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	stdout, stderr, code := run(root, "canary", "reviews", "10", "--contexts", "east,west")
	if code != 0 {
		t.Fatal(stderr)
	}
	want := "cluster cluster-east (context east): reviews: v1 90%, v2 10% (was v1 100%)\n" +
		"cluster cluster-west (context west): reviews: v1 90%, v2 10% (was v1 100%)\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v1 90, v2 10" {
			t.Errorf("weights %q", got)
		}
	}
}

// A version with a ready pod in one cluster only is served from both: endpoints merge
// across clusters. One ready nowhere is refused, and nothing is written anywhere.
func TestCanaryContextsCountsPodsOfEveryCluster(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	for _, f := range []*fakeCluster{east, west} {
		if err := f.kube.CoreV1().Pods("default").Delete(t.Context(), "reviews-v3-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, code := run(root, "canary", "reviews", "10", "--canary", "v3", "--contexts", "east,west")
	if code != 1 || !strings.Contains(stderr, "nothing was changed in any cluster") || !strings.Contains(stderr, `cluster cluster-east (context east): reviews: subset "v3" selects no ready pods`) {
		t.Errorf("v3 is ready nowhere: exit %d, %s", code, stderr)
	}
	if writes(east)+writes(west) != 0 {
		t.Error("a refused step wrote")
	}
	if err := east.kube.CoreV1().Pods("default").Delete(t.Context(), "reviews-v2-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(root, "canary", "reviews", "10", "--contexts", "east,west"); code != 0 {
		t.Fatalf("v2 is ready in west: %s", stderr)
	}
}

// The second cluster refuses the write: the first is put back, and the error says what
// happened in each cluster.
func TestCanaryContextsPutsBackTheFirstWhenTheSecondFails(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	west.dynamic.PrependReactor("update", "virtualservices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(virtualServices.GroupResource(), "reviews", errors.New("no"))
	})
	_, stderr, code := run(root, "canary", "reviews", "10", "--contexts", "east,west")
	for _, want := range []string{
		"the change failed in cluster cluster-west (context west), so no cluster keeps it",
		"cluster cluster-west (context west): virtualservice/reviews configure failed",
		"cluster cluster-east (context east): put back virtualservice/reviews",
	} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q (exit %d):\n%s", want, code, stderr)
		}
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v1 100" {
			t.Errorf("weights %q after the failure, want v1 100", got)
		}
	}
}

// Routes that differ are refused before anything is written, saying how; --force steps each.
func TestCanaryContextsRefusesRoutesThatDiffer(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	if _, stderr, code := run(west, "canary", "reviews", "10"); code != 0 { // west alone
		t.Fatal(stderr)
	}
	before := writes(east)
	_, stderr, code := run(root, "canary", "reviews", "20", "--contexts", "east,west")
	want := "reviews: cluster cluster-east (context east) sends v1 100; cluster cluster-west (context west) sends v1 90, v2 10"
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("want %q, got exit %d:\n%s", want, code, stderr)
	}
	if writes(east) != before {
		t.Error("east was written")
	}
	if _, stderr, code := run(root, "canary", "reviews", "20", "--contexts", "east,west", "--force"); code != 0 {
		t.Fatal(stderr)
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v1 80, v2 20" {
			t.Errorf("weights %q after --force, want v1 80, v2 20", got)
		}
	}
}
