package cmd

import (
	"fmt"
	"strings"
	"testing"

	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// newLockdownCluster holds namespace shop with `apps` workloads of `pods` pods each, and an
// ingress gateway routing to the first.
func newLockdownCluster(apps, pods int) *fakeCluster {
	objects := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "ingress-0", Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}},
			Spec:       corev1.PodSpec{ServiceAccountName: "ingress", Containers: []corev1.Container{{Name: "istio-proxy"}}},
		},
	}
	for a := range apps {
		app := fmt.Sprintf("app%d", a)
		objects = append(objects, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: "shop"},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": app}},
		})
		for i := range pods {
			objects = append(objects, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", app, i), Namespace: "shop", Labels: map[string]string{"app": app, "version": "v1"}},
				Spec:       corev1.PodSpec{ServiceAccountName: app, Containers: []corev1.Container{{Name: app}, {Name: "istio-proxy"}}},
			})
		}
	}
	kube := kubefake.NewClientset(objects...)
	kube.Resources = []*metav1.APIResourceList{
		{GroupVersion: "networking.istio.io/v1", APIResources: []metav1.APIResource{{Name: "virtualservices"}, {Name: "gateways"}, {Name: "destinationrules"}}},
		{GroupVersion: "security.istio.io/v1", APIResources: []metav1.APIResource{{Name: "peerauthentications"}, {Name: "authorizationpolicies"}}},
	}
	gateway := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "shop-gateway", "namespace": "shop"},
		"spec":     map[string]any{"selector": map[string]any{"istio": "ingressgateway"}},
	}}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"name": "shop", "namespace": "shop"},
		"spec": map[string]any{"hosts": []any{"shop.example.com"}, "gateways": []any{"shop-gateway"}, "http": []any{map[string]any{
			"route": []any{map[string]any{"destination": map[string]any{"host": "app0"}}},
		}}},
	}}
	gvr := func(group, resource string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: group, Version: "v1", Resource: resource}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		gvr("networking.istio.io", "virtualservices"):     "VirtualServiceList",
		gvr("networking.istio.io", "gateways"):            "GatewayList",
		gvr("security.istio.io", "peerauthentications"):   "PeerAuthenticationList",
		gvr("security.istio.io", "authorizationpolicies"): "AuthorizationPolicyList",
	}, vs)
	// Added by resource: the fake would guess "gatewaies" from the kind.
	if err := dyn.Tracker().Create(gvr("networking.istio.io", "gateways"), gateway, "shop"); err != nil {
		panic(err)
	}
	return &fakeCluster{kube: kube, istio: istiofake.NewSimpleClientset(), dynamic: dyn}
}

func runLockdown(f *fakeCluster, args ...string) (string, string, error) {
	return runOn(NewCmdLockdown, f, args...)
}

// A lockdown costs the same reads however many workloads and pods the namespace has: two
// discovery requests (networking and security), the namespace, eight lists and reads in
// parallel, one list of the gateway's pods; then one write per object.
func TestLockdownRequestCountIsConstant(t *testing.T) {
	for _, size := range []struct{ apps, pods int }{{2, 1}, {20, 30}} {
		f := newLockdownCluster(size.apps, size.pods)
		stdout, stderr, err := runLockdown(f, "shop")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if !strings.Contains(stdout, "app0-v1 <- istio-system/ingress (ingress gateway shop/shop-gateway)") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
		const reads, writes = 12, 3 // ALLOW app0-v1, PeerAuthentication, default deny
		if got := f.requests(); got != reads+writes {
			t.Errorf("%d apps x %d pods: %d requests, want %d", size.apps, size.pods, got, reads+writes)
		}
		// The second run reads the same and writes nothing.
		before := f.requests()
		if _, _, err := runLockdown(f, "shop"); err != nil {
			t.Fatal(err)
		}
		if got := f.requests() - before; got != reads {
			t.Errorf("second run: %d requests, want %d reads", got, reads)
		}
	}
}
