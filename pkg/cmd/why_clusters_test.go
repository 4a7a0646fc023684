package cmd

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// whyCluster is namespace shop with app0 and app1 (their pods ready), chosen as with -n
// shop, and an istiod running with cluster ID id.
func whyCluster(t *testing.T, id string) *fakeCluster {
	t.Helper()
	f := withIstiod(t, newLockdownCluster(2, 1), id)
	f.namespace = "shop"
	pods, err := f.kube.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		if _, err := f.kube.CoreV1().Pods("shop").Update(context.Background(), &p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.kube.ClearActions()
	return f
}

// twoWhyClusters: contexts east and west, every request slow when slow is set (roundTrips
// sets it on the cluster it is given only).
func twoWhyClusters(t *testing.T, slow bool) (root, east, west *fakeCluster) {
	root, east, west = whyCluster(t, "cluster-east"), whyCluster(t, "cluster-east"), whyCluster(t, "cluster-west")
	east.slow, west.slow = slow, slow
	root.contexts = map[string]*fakeCluster{"east": east, "west": west}
	return root, east, west
}

// why over two clusters reads them at once: it waits no more round trips than over one,
// beside the one that names each cluster by its istiod's cluster ID.
func TestWhyContextsReadsClustersInParallel(t *testing.T) {
	one, stderr, code := roundTrips(t, func() *fakeCluster { return whyCluster(t, "cluster-east") }, "why", "outside", "app0")
	if code != 0 {
		t.Fatalf("why over one cluster failed: %s", stderr)
	}
	two, stderr, code := roundTrips(t, func() *fakeCluster { root, _, _ := twoWhyClusters(t, true); return root }, "why", "outside", "app0", "--contexts", "east,west")
	if code != 0 {
		t.Fatalf("why --contexts failed: %s", stderr)
	}
	if two > one+1 {
		t.Errorf("why --contexts east,west waited %d round trips, one cluster %d: the clusters are not read at once", two, one)
	}
}

// A DENY in west alone: each cluster under its heading, and the policy east lacks named.
func TestWhyContextsSaysWhereTheClustersDiffer(t *testing.T) {
	root, _, west := twoWhyClusters(t, false)
	deny := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": "deny-all", "namespace": "shop"},
		"spec":     map[string]any{"action": "DENY", "rules": []any{map[string]any{}}},
	}}
	if err := west.dynamic.Tracker().Create(schema.GroupVersionResource{Group: "security.istio.io", Version: "v1", Resource: "authorizationpolicies"}, deny, "shop"); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(root, "why", "outside", "app0", "--contexts", "east,west")
	if code != 0 {
		t.Fatalf("why --contexts failed: %s", stderr)
	}
	for _, want := range []string{
		"=== cluster cluster-east (context east) ===", "=== cluster cluster-west (context west) ===",
		"the clusters differ: allowed in cluster-east; denied (403 at the sidecar) in cluster-west",
		"because cluster-east lacks AuthorizationPolicy shop/deny-all, which decides in cluster-west",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("why does not say %q:\n%s", want, stdout)
		}
	}
}

// --contexts naming a context twice, or an empty one, is refused before any request.
func TestWhyAndWhatIfContextsValidated(t *testing.T) {
	for _, args := range [][]string{
		{"why", "outside", "app0", "--contexts", "east,east"},
		{"what-if", "--delete", "authorizationpolicy/x", "--contexts", "east,,west"},
	} {
		root, east, west := twoWhyClusters(t, false)
		_, stderr, code := run(root, args...)
		if n := root.requests() + east.requests() + west.requests(); code != 1 || !strings.Contains(stderr, "--contexts") || n != 0 {
			t.Errorf("%q: exit %d, %d requests, stderr %q: want refused before any request", args, code, n, stderr)
		}
	}
}
