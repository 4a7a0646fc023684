package cmd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

// twoLockdownClusters are the same namespace shop in two clusters, contexts east and west,
// whose istiods run with cluster IDs cluster-east and cluster-west.
func twoLockdownClusters(t *testing.T) (root, east, west *fakeCluster) {
	east, west = withIstiod(t, newLockdownCluster(2, 1), "cluster-east"), withIstiod(t, newLockdownCluster(2, 1), "cluster-west")
	root = newLockdownCluster(1, 1)
	root.contexts = map[string]*fakeCluster{"east": east, "west": west}
	return root, east, west
}

// withIstiod gives f an istiod Deployment running with CLUSTER_ID id: its dynamic client is
// made again, with f's Istio objects and the Deployment.
func withIstiod(t *testing.T, f *fakeCluster, id string) *fakeCluster {
	t.Helper()
	kinds := map[schema.GroupVersionResource]string{{Group: "apps", Version: "v1", Resource: "deployments"}: "DeploymentList"}
	var objects []runtime.Object
	for _, r := range []struct{ group, resource, kind string }{
		{"networking.istio.io", "virtualservices", "VirtualServiceList"}, {"networking.istio.io", "gateways", "GatewayList"},
		{"security.istio.io", "peerauthentications", "PeerAuthenticationList"}, {"security.istio.io", "authorizationpolicies", "AuthorizationPolicyList"},
		{"gateway.networking.k8s.io", "gateways", "GatewayList"}, {"gateway.networking.k8s.io", "httproutes", "HTTPRouteList"},
		{"gateway.networking.k8s.io", "grpcroutes", "GRPCRouteList"}, {"gateway.networking.k8s.io", "tlsroutes", "TLSRouteList"},
		{"gateway.networking.k8s.io", "tcproutes", "TCPRouteList"},
	} {
		gvr := schema.GroupVersionResource{Group: r.group, Version: "v1", Resource: r.resource}
		kinds[gvr] = r.kind
		list, err := f.dynamic.Resource(gvr).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			objects = append(objects, &list.Items[i])
		}
	}
	kinds[schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1beta1", Resource: "referencegrants"}] = "ReferenceGrantList"
	istiod := istiodDeployment(id)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds, istiod)
	for _, obj := range objects {
		u := obj.(*unstructured.Unstructured)
		gvr := schema.GroupVersionResource{Group: u.GroupVersionKind().Group, Version: "v1", Resource: map[string]string{"Gateway": "gateways", "VirtualService": "virtualservices"}[u.GetKind()]}
		if err := dyn.Tracker().Create(gvr, u, u.GetNamespace()); err != nil {
			t.Fatal(err)
		}
	}
	recordManagers(dyn)
	f.dynamic = dyn
	return f
}

// writes counts the create, update and delete requests a fake cluster received.
func writes(f *fakeCluster) int {
	n := 0
	for _, a := range f.dynamic.Actions() {
		switch a.GetVerb() {
		case "create", "update", "delete", "patch":
			n++
		}
	}
	return n
}

func ourObjects(t *testing.T, f *fakeCluster) []string {
	t.Helper()
	var names []string
	for _, resource := range []string{"peerauthentications", "authorizationpolicies"} {
		list, err := f.dynamic.Resource(schema.GroupVersionResource{Group: "security.istio.io", Version: "v1", Resource: resource}).Namespace("shop").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			names = append(names, item.GetKind()+"/"+item.GetName())
		}
	}
	return names
}

func TestLockdownContextsPlansAndWritesEveryCluster(t *testing.T) {
	root, east, west := twoLockdownClusters(t)
	stdout, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, want := range []string{"==> cluster cluster-east (context east) <==", "==> cluster cluster-west (context west) <==", "authorizationpolicy/kubectl-mesh-default-deny created"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if len(ourObjects(t, east)) != 3 || len(ourObjects(t, west)) != 3 {
		t.Errorf("east has %v, west has %v", ourObjects(t, east), ourObjects(t, west))
	}
}

// When the second cluster's write fails, the first is reverted, and the message says what
// happened in each.
func TestLockdownContextsRevertsTheFirstWhenTheSecondFails(t *testing.T) {
	root, east, west := twoLockdownClusters(t)
	west.dynamic.PrependReactor("create", "peerauthentications", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("injected fault")
	})
	_, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	if got := ourObjects(t, east); len(got) != 0 {
		t.Errorf("east keeps %v", got)
	}
	if got := ourObjects(t, west); len(got) != 0 {
		t.Errorf("west keeps %v", got)
	}
	for _, want := range []string{
		"lockdown shop failed in cluster cluster-west (context west); every cluster is as it was:",
		"cluster cluster-west (context west): peerauthentication/default create failed: injected fault\n    reverted, in this order: authorizationpolicy/kubectl-mesh-allow-app0-v1; nothing was left changed",
		"cluster cluster-east (context east): written, then reverted because cluster-west failed\n    reverted, in this order: authorizationpolicy/kubectl-mesh-default-deny, peerauthentication/default, authorizationpolicy/kubectl-mesh-allow-app0-v1; nothing was left changed",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// A cluster that does not answer: a write refuses and changes nothing; --status and a dry run
// go on with the others and name it.
func TestLockdownContextsUnreachable(t *testing.T) {
	root, east, _ := twoLockdownClusters(t)
	_, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,gone")
	if code != 1 || !strings.Contains(stderr, `"gone"`) || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	if n := writes(east); n != 0 {
		t.Errorf("%d writes in east", n)
	}
	for _, args := range [][]string{{"--status"}, {"--dry-run"}} {
		stdout, stderr, code := run(root, append([]string{"lockdown", "shop", "--contexts", "east,gone"}, args...)...)
		if code != 0 || !strings.Contains(stdout, "==> cluster cluster-east (context east) <==") || !strings.Contains(stderr, `"gone"`) {
			t.Errorf("%v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
	}
	stdout, _, _ := run(root, "lockdown", "shop", "--contexts", "east,gone", "--status")
	if !strings.Contains(stdout, "\nnot compared (could not be read):\n  context \"gone\" is not in the kubeconfig") {
		t.Errorf("--status does not say which cluster it did not compare:\n%s", stdout)
	}
	stdout, _, _ = run(root, "lockdown", "shop", "--contexts", "east,gone", "--status", "-o", "json")
	if !strings.Contains(stdout, `"notRead": [`+"\n"+`    "context \"gone\" is not in the kubeconfig"`) {
		t.Errorf("-o json does not list the cluster not read:\n%s", stdout)
	}
	if n := writes(east); n != 0 {
		t.Errorf("%d writes in east", n)
	}
}

// A blocker in one cluster (a pod without a sidecar in west) stops the whole run before
// anything is written anywhere, naming the cluster; a dry run shows both plans and the blocker.
func TestLockdownContextsBlockerInOneClusterStopsAll(t *testing.T) {
	root, east, west := twoLockdownClusters(t)
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "legacy-0", Namespace: "shop", Labels: map[string]string{"app": "legacy"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "legacy"}}}}
	if _, err := west.kube.CoreV1().Pods("shop").Create(t.Context(), plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west")
	if code != 1 || !strings.Contains(stderr, "lockdown shop stops before writing anything in any cluster:\ncluster cluster-west (context west): 1 pods in namespace shop have no istio-proxy sidecar") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	if n := writes(east) + writes(west); n != 0 {
		t.Errorf("%d writes", n)
	}
	stdout, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west", "--dry-run")
	if code != 1 || strings.Count(stdout, "created (dry run)") != 6 || !strings.Contains(stderr, "\ncluster cluster-west (context west): 1 pods in namespace shop") {
		t.Errorf("dry run: exit %d:\n%s\n%s", code, stdout, stderr)
	}
}

// Undo in every cluster removes what lockdown made in each.
func TestLockdownContextsUndo(t *testing.T) {
	root, east, west := twoLockdownClusters(t)
	if _, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west"); code != 0 {
		t.Fatal(stderr)
	}
	stdout, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west", "--undo")
	if code != 0 || strings.Count(stdout, "deleted: created by lockdown") != 6 {
		t.Errorf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	if len(ourObjects(t, east))+len(ourObjects(t, west)) != 0 {
		t.Errorf("east keeps %v, west %v", ourObjects(t, east), ourObjects(t, west))
	}
}

// An undo that fails in west puts east's lockdown back: every cluster stays locked down.
func TestLockdownContextsUndoFailingInOneClusterRestoresTheOther(t *testing.T) {
	root, east, west := twoLockdownClusters(t)
	if _, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west"); code != 0 {
		t.Fatal(stderr)
	}
	west.dynamic.PrependReactor("delete", "peerauthentications", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("injected fault")
	})
	_, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west", "--undo")
	if code != 1 || !strings.Contains(stderr, "lockdown --undo shop failed in cluster cluster-west (context west); every cluster is as it was:") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	if len(ourObjects(t, east)) != 3 || len(ourObjects(t, west)) != 3 {
		t.Errorf("east has %v, west has %v", ourObjects(t, east), ourObjects(t, west))
	}
}

// Each cluster is planned on its own policies: an ALLOW policy of west's decides for app0 there
// (lockdown never widens it), while east gets lockdown's own.
func TestLockdownContextsPlanEachClusterOnItsOwnPolicies(t *testing.T) {
	root, _, west := twoLockdownClusters(t)
	allow := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": "team-allow", "namespace": "shop"},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "app0"}}, "action": "ALLOW",
			"rules": []any{map[string]any{"from": []any{map[string]any{"source": map[string]any{"namespaces": []any{"shop"}}}}}}},
	}}
	gvr := schema.GroupVersionResource{Group: "security.istio.io", Version: "v1", Resource: "authorizationpolicies"}
	if err := west.dynamic.Tracker().Create(gvr, allow, "shop"); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	eastPart, westPart, _ := strings.Cut(stdout, "==> cluster cluster-west (context west) <==")
	if !strings.Contains(eastPart, "authorizationpolicy/kubectl-mesh-allow-app0-v1 created (dry run)") ||
		strings.Contains(westPart, "kubectl-mesh-allow-app0-v1") ||
		!strings.Contains(westPart, "app0-v1 <- unchanged: its own ALLOW policies decide, as before (shop/team-allow)") ||
		!strings.Contains(westPart, "Not admitted, because that would allow what is denied today") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

// What a plan warns about is said, naming the cluster it is about.
func TestLockdownContextsWarnNamingTheCluster(t *testing.T) {
	root, _, west := twoLockdownClusters(t)
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "legacy-0", Namespace: "shop", Labels: map[string]string{"app": "legacy"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "legacy"}}}}
	if _, err := west.kube.CoreV1().Pods("shop").Create(t.Context(), plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west", "--force")
	if code != 0 || !strings.Contains(stderr, "warning: cluster cluster-west (context west): 1 pods in namespace shop have no istio-proxy sidecar") ||
		strings.Contains(stderr, "cluster cluster-east (context east): 1 pods") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// A conflict in west (someone wrote a policy since it was read) re-reads and re-plans west
// alone, and the lockdown goes through in both.
func TestLockdownContextsConflictReplansThatCluster(t *testing.T) {
	root, east, west := twoLockdownClusters(t)
	conflicts := 0
	west.dynamic.PrependReactor("create", "peerauthentications", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts++; conflicts == 1 {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "security.istio.io", Resource: "peerauthentications"}, "default", errors.New("changed"))
		}
		return false, nil, nil
	})
	_, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west")
	if code != 0 || conflicts != 2 {
		t.Fatalf("exit %d after %d tries:\n%s", code, conflicts, stderr)
	}
	if len(ourObjects(t, east)) != 3 || len(ourObjects(t, west)) != 3 {
		t.Errorf("east has %v, west has %v", ourObjects(t, east), ourObjects(t, west))
	}
}

// lockdown --what-if --contexts replays each cluster's own plan on the edges into it, from one
// Prometheus for the mesh, and writes nothing anywhere.
func TestLockdownContextsWhatIf(t *testing.T) {
	root, east, west := twoLockdownClusters(t)
	prom := app1CallsApp0(t, "cluster-east", "cluster-west")
	stdout, stderr, code := run(root, "lockdown", "shop", "--what-if", "--contexts", "east,west", "--prometheus-url", prom, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	var report struct {
		Clusters []struct {
			ID       string            `json:"id"`
			Replayed int               `json:"replayed"`
			Changes  []json.RawMessage `json:"changes"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if len(report.Clusters) != 2 || report.Clusters[0].ID != "cluster-east" || report.Clusters[1].ID != "cluster-west" {
		t.Fatalf("clusters: %+v", report.Clusters)
	}
	for _, c := range report.Clusters {
		if c.Replayed != 1 || len(c.Changes) == 0 {
			t.Errorf("%s: %d edges replayed (want its 1), %d changes planned", c.ID, c.Replayed, len(c.Changes))
		}
	}
	if writes(east) != 0 || writes(west) != 0 {
		t.Errorf("--what-if wrote: %d in east, %d in west", writes(east), writes(west))
	}
	// The callers seen are kept by every cluster's plan: nothing they did is cut.
	table, _, _ := run(root, "lockdown", "shop", "--what-if", "--contexts", "east,west", "--prometheus-url", prom)
	for _, want := range []string{"replayed 2 edges seen into shop over 24h: no verdict changes", "cluster-east (context east): 1 edge replayed", "cluster-west (context west): 1 edge replayed"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}
