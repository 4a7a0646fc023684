package cmd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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

// fakeCluster serves one namespace of bookinfo-like objects from fake clientsets and counts
// the requests a command makes.
type fakeCluster struct {
	kube    *kubefake.Clientset
	istio   *istiofake.Clientset
	dynamic *dynamicfake.FakeDynamicClient
}

func (f *fakeCluster) Namespace() (string, bool, error) { return "default", false, nil }

func (f *fakeCluster) Clients() (*mesh.Clients, error) {
	return &mesh.Clients{
		Discovery:     f.kube.Discovery(),
		Core:          f.kube.CoreV1(),
		EndpointSlice: f.kube.DiscoveryV1(),
		Networking:    f.istio.NetworkingV1(),
		Security:      f.istio.SecurityV1(),
		Dynamic:       f.dynamic,
	}, nil
}

func (f *fakeCluster) requests() int {
	return len(f.kube.Actions()) + len(f.istio.Actions()) + len(f.dynamic.Actions())
}

// newFakeCluster holds reviews with `versions` subsets and `podsPerVersion` ready pods each,
// and a VirtualService sending everything to v1.
func newFakeCluster(versions, podsPerVersion int) *fakeCluster {
	var kubeObjects []runtime.Object
	kubeObjects = append(kubeObjects, &corev1.Service{
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
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "VirtualServiceList"}, vs)
	return &fakeCluster{kube: kube, istio: istiofake.NewSimpleClientset(dr), dynamic: dyn}
}

// runOn runs one command against the fake cluster and returns what it printed.
func runOn(newCmd func(mesh.ClientGetter, genericiooptions.IOStreams) *cobra.Command, f *fakeCluster, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	c := newCmd(f, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SilenceErrors, c.SilenceUsage = true, true
	err := c.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func runCanary(f *fakeCluster, args ...string) (string, string, error) {
	return runOn(NewCmdCanary, f, args...)
}

// A canary step costs the same few requests however many pods and subsets the service has:
// one discovery, one Service get, three lists, one update.
func TestCanaryRequestCountIsConstant(t *testing.T) {
	for _, size := range []struct{ versions, pods int }{{3, 1}, {10, 50}} {
		f := newFakeCluster(size.versions, size.pods)
		stdout, _, err := runCanary(f, "reviews", "10")
		if err != nil {
			t.Fatal(err)
		}
		if stdout != "reviews: v1 90%, v2 10% (was v1 100%)\n" {
			t.Errorf("stdout %q", stdout)
		}
		if got := f.requests(); got != 6 {
			t.Errorf("%d subsets x %d pods: %d requests, want 6", size.versions, size.pods, got)
		}
	}
}

func TestCanaryStatusMakesNoWrite(t *testing.T) {
	f := newFakeCluster(3, 2)
	stdout, _, err := runCanary(f, "reviews")
	if err != nil {
		t.Fatal(err)
	}
	want := `reviews (namespace default): VirtualService reviews, route #0

SUBSET   ROLE     WEIGHT   READY
v1       stable   100%     2/2
v2       -        0%       2/2
v3       -        0%       2/2
`
	if stdout != want {
		t.Errorf("status:\n%s\nwant:\n%s", stdout, want)
	}
	for _, a := range f.dynamic.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("status made a %s request", a.GetVerb())
		}
	}
}

func BenchmarkCanaryStep(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		f := newFakeCluster(5, 20)
		b.StartTimer()
		if _, _, err := runCanary(f, "reviews", "10"); err != nil {
			b.Fatal(err)
		}
	}
}

// --auto refuses, before moving any traffic, a canary whose subset has no version label:
// its telemetry could not be told apart from stable's.
func TestCanaryAutoRefusesUnjudgeableSubsets(t *testing.T) {
	f := newFakeCluster(3, 1)
	dr, err := f.istio.NetworkingV1().DestinationRules("default").Get(context.Background(), "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dr.Spec.Subsets[1].Labels = map[string]string{"track": "canary"}
	if _, err := f.istio.NetworkingV1().DestinationRules("default").Update(context.Background(), dr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MESH_PROMETHEUS_URL", "http://127.0.0.1:1")
	_, _, err = runCanary(f, "reviews", "--auto", "--steps", "10,100", "--interval", "1s", "--force")
	if err == nil || !strings.Contains(err.Error(), "does not select pods by a version label") {
		t.Fatalf("want a refusal naming the missing version label, got %v", err)
	}
	for _, a := range f.dynamic.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("a refused --auto made a %s request", a.GetVerb())
		}
	}
}

func TestCanaryAutoValidation(t *testing.T) {
	for args, want := range map[string]string{
		"reviews --auto --steps 50,25":        "--steps must ascend: 25 comes after 50",
		"reviews --auto --steps 0,50":         "--steps: 0 is not a weight from 1 to 100",
		"reviews 10 --auto":                   "--auto takes its weights from --steps",
		"reviews --auto --interval 100ms":     "--interval 100ms is too short",
		"reviews --auto --max-error-rate 150": "--max-error-rate 150: give a percentage from 0 to 100",
		"reviews --auto --dry-run":            "--auto changes weights over time",
	} {
		_, _, err := runCanary(newFakeCluster(3, 1), strings.Fields(args)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q, got %v", args, want, err)
		}
	}
}
