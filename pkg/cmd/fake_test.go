package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	apinetworking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// The commands' tests run against fake clientsets (pure logic, request counts) and never
// against the environment of whoever runs them: no kubeconfig, no Prometheus, unless a test
// sets one itself.
func TestMain(m *testing.M) {
	os.Setenv("KUBECONFIG", os.DevNull+"/no-kubeconfig")
	os.Unsetenv("MESH_PROMETHEUS_URL")
	os.Unsetenv("MESH_JAEGER_URL")
	os.Exit(m.Run())
}

// run runs `kubectl mesh ARGS...` as a user would, against f (nil: no cluster at all), and
// returns what it printed and its exit code.
func run(f *fakeCluster, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	flags := mesh.NewConfigFlags()
	var getter mesh.ClientGetter = flags
	if f != nil {
		getter = f
	}
	root := newCmdMesh(streams, flags, getter)
	root.SetArgs(args)
	code = execute(context.Background(), root, streams)
	return out.String(), errOut.String(), code
}

// fakeCluster serves one namespace of bookinfo-like objects from fake clientsets and counts
// the requests a command makes.
type fakeCluster struct {
	kube    *kubefake.Clientset
	istio   *istiofake.Clientset
	dynamic *dynamicfake.FakeDynamicClient
	slow    bool // every request takes a second (see roundTrips)
	// namespace, when set, is the namespace chosen as with -n; else the kubeconfig's default.
	namespace string
	// contexts are the other clusters --contexts may name, by context.
	contexts map[string]*fakeCluster
}

func (f *fakeCluster) Namespace() (string, bool, error) {
	if f.namespace != "" {
		return f.namespace, true, nil
	}
	return "default", false, nil
}

func (f *fakeCluster) RequestTimeout() time.Duration { return 0 }

func (f *fakeCluster) ExplicitContext() string { return "" }

// ClientsFor reaches the fake cluster of a context: f itself for "fake", else one of
// f.contexts; any other name is not in the kubeconfig.
func (f *fakeCluster) ClientsFor(name string) (*mesh.Clients, error) {
	if other, ok := f.contexts[name]; ok {
		return other.Clients()
	}
	if name == "fake" {
		return f.Clients()
	}
	return nil, fmt.Errorf("context %q is not in the kubeconfig", name)
}

func (f *fakeCluster) Clients() (*mesh.Clients, error) {
	c := &mesh.Clients{
		Core:          f.kube.CoreV1(),
		EndpointSlice: f.kube.DiscoveryV1(),
		Networking:    f.istio.NetworkingV1(),
		Security:      f.istio.SecurityV1(),
		Dynamic:       f.dynamic,
	}
	if f.slow {
		return slowClients(c), nil
	}
	return c, nil
}

// roundTrips runs `kubectl mesh ARGS...` against a new cluster whose every request takes one
// second, in a synctest bubble where time passes only while every goroutine waits: the time
// the command took is the number of round trips that had to wait for one another, exactly.
func roundTrips(t *testing.T, newCluster func() *fakeCluster, args ...string) (n int, stderr string, code int) {
	synctest.Test(t, func(t *testing.T) {
		f := newCluster()
		f.slow = true
		start := time.Now()
		_, stderr, code = run(f, args...)
		n = int(time.Since(start) / time.Second)
	})
	return n, stderr, code
}

func (f *fakeCluster) requests() int {
	return len(f.kube.Actions()) + len(f.istio.Actions()) + len(f.dynamic.Actions())
}

// newFakeCluster holds reviews with `versions` subsets and `podsPerVersion` ready pods each,
// and a VirtualService sending everything to v1.
func newFakeCluster(versions, podsPerVersion int) *fakeCluster {
	var kubeObjects []runtime.Object
	kubeObjects = append(kubeObjects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "reviews"}},
	})
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"}}
	dr.Spec.Host = "reviews"
	for v := 1; v <= versions; v++ {
		version := fmt.Sprintf("v%d", v)
		dr.Spec.Subsets = append(dr.Spec.Subsets, &apinetworking.Subset{Name: version, Labels: map[string]string{"version": version}})
		for i := range podsPerVersion {
			kubeObjects = append(kubeObjects, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("reviews-%s-%d", version, i), Namespace: "default", Labels: map[string]string{"app": "reviews", "version": version}},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
			})
		}
	}
	kube := kubefake.NewClientset(kubeObjects...)
	kube.Resources = []*metav1.APIResourceList{{
		GroupVersion: "networking.istio.io/v1",
		APIResources: []metav1.APIResource{{Name: "virtualservices", Kind: "VirtualService"}, {Name: "destinationrules", Kind: "DestinationRule"}},
	}}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"name": "reviews", "namespace": "default", "resourceVersion": "1"},
		"spec": map[string]any{"hosts": []any{"reviews"}, "http": []any{map[string]any{"route": []any{
			map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}},
		}}}},
	}}
	gvr := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		gvr: "VirtualServiceList",
		{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}: "HTTPRouteList",
		{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "grpcroutes"}: "GRPCRouteList",
		{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}:           "RolloutList",
	}, vs)
	return &fakeCluster{kube: kube, istio: istiofake.NewSimpleClientset(dr), dynamic: dyn}
}

// newLockdownCluster holds namespace shop with `apps` workloads of `pods` pods each, and an
// ingress gateway routing to the first.
func newLockdownCluster(apps, pods int) *fakeCluster {
	objects := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "ingress-0", Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}},
			Spec:       corev1.PodSpec{ServiceAccountName: "ingress", Containers: []corev1.Container{{Name: "istio-proxy", Args: []string{"proxy", "router"}}}},
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
		gvr("networking.istio.io", "virtualservices"):                                         "VirtualServiceList",
		gvr("networking.istio.io", "gateways"):                                                "GatewayList",
		gvr("security.istio.io", "peerauthentications"):                                       "PeerAuthenticationList",
		gvr("security.istio.io", "authorizationpolicies"):                                     "AuthorizationPolicyList",
		gvr("gateway.networking.k8s.io", "gateways"):                                          "GatewayList",
		gvr("gateway.networking.k8s.io", "httproutes"):                                        "HTTPRouteList",
		gvr("gateway.networking.k8s.io", "grpcroutes"):                                        "GRPCRouteList",
		gvr("gateway.networking.k8s.io", "tlsroutes"):                                         "TLSRouteList",
		gvr("gateway.networking.k8s.io", "tcproutes"):                                         "TCPRouteList",
		{Group: "gateway.networking.k8s.io", Version: "v1beta1", Resource: "referencegrants"}: "ReferenceGrantList",
	}, vs)
	// Added by resource: the fake would guess "gatewaies" from the kind.
	if err := dyn.Tracker().Create(gvr("networking.istio.io", "gateways"), gateway, "shop"); err != nil {
		panic(err)
	}
	recordManagers(dyn)
	return &fakeCluster{kube: kube, istio: istiofake.NewSimpleClientset(), dynamic: dyn}
}

// istiodDeployment is istiod's Deployment in istio-system, running with CLUSTER_ID id: what
// --contexts reads a cluster's ID from.
func istiodDeployment(id string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "istiod", "namespace": "istio-system", "labels": map[string]any{"app": "istiod"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
			"name": "discovery", "env": []any{map[string]any{"name": "CLUSTER_ID", "value": id}},
		}}}}},
	}}
}
