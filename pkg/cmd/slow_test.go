package cmd

import (
	"context"
	"time"

	istionetworking "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1 "istio.io/client-go/pkg/clientset/versioned/typed/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryv1client "k8s.io/client-go/kubernetes/typed/discovery/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// Clients whose every request the commands make takes one second, outside the fake
// clientsets' lock (which serialises their requests): in a synctest bubble, the time a
// command takes is its number of sequential round trips.

func slowClients(c *mesh.Clients) *mesh.Clients {
	slow := *c
	slow.Core = slowCore{c.Core}
	slow.EndpointSlice = slowSlices{c.EndpointSlice}
	slow.Networking = slowNetworking{c.Networking}
	slow.Dynamic = slowDynamic{c.Dynamic}
	return &slow
}

func roundTrip() { time.Sleep(time.Second) }

type slowCore struct{ corev1client.CoreV1Interface }

func (c slowCore) Pods(ns string) corev1client.PodInterface {
	return slowPods{c.CoreV1Interface.Pods(ns)}
}
func (c slowCore) Services(ns string) corev1client.ServiceInterface {
	return slowServices{c.CoreV1Interface.Services(ns)}
}
func (c slowCore) Namespaces() corev1client.NamespaceInterface {
	return slowNamespaces{c.CoreV1Interface.Namespaces()}
}
func (c slowCore) ConfigMaps(ns string) corev1client.ConfigMapInterface {
	return slowConfigMaps{c.CoreV1Interface.ConfigMaps(ns)}
}

type slowPods struct{ corev1client.PodInterface }

func (p slowPods) List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	roundTrip()
	return p.PodInterface.List(ctx, opts)
}

type slowServices struct{ corev1client.ServiceInterface }

func (s slowServices) List(ctx context.Context, opts metav1.ListOptions) (*corev1.ServiceList, error) {
	roundTrip()
	return s.ServiceInterface.List(ctx, opts)
}

func (s slowServices) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Service, error) {
	roundTrip()
	return s.ServiceInterface.Get(ctx, name, opts)
}

type slowNamespaces struct {
	corev1client.NamespaceInterface
}

func (n slowNamespaces) List(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	roundTrip()
	return n.NamespaceInterface.List(ctx, opts)
}

func (n slowNamespaces) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Namespace, error) {
	roundTrip()
	return n.NamespaceInterface.Get(ctx, name, opts)
}

type slowConfigMaps struct {
	corev1client.ConfigMapInterface
}

func (m slowConfigMaps) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error) {
	roundTrip()
	return m.ConfigMapInterface.Get(ctx, name, opts)
}

type slowSlices struct {
	discoveryv1client.DiscoveryV1Interface
}

func (s slowSlices) EndpointSlices(ns string) discoveryv1client.EndpointSliceInterface {
	return slowSliceList{s.DiscoveryV1Interface.EndpointSlices(ns)}
}

type slowSliceList struct {
	discoveryv1client.EndpointSliceInterface
}

func (s slowSliceList) List(ctx context.Context, opts metav1.ListOptions) (*discoveryv1.EndpointSliceList, error) {
	roundTrip()
	return s.EndpointSliceInterface.List(ctx, opts)
}

type slowNetworking struct {
	networkingv1.NetworkingV1Interface
}

func (n slowNetworking) DestinationRules(ns string) networkingv1.DestinationRuleInterface {
	return slowDestinationRules{n.NetworkingV1Interface.DestinationRules(ns)}
}

type slowDestinationRules struct {
	networkingv1.DestinationRuleInterface
}

func (d slowDestinationRules) List(ctx context.Context, opts metav1.ListOptions) (*istionetworking.DestinationRuleList, error) {
	roundTrip()
	return d.DestinationRuleInterface.List(ctx, opts)
}

type slowDynamic struct{ dynamic.Interface }

func (d slowDynamic) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return slowResource{d.Interface.Resource(gvr)}
}

type slowResource struct {
	dynamic.NamespaceableResourceInterface
}

func (r slowResource) Namespace(ns string) dynamic.ResourceInterface {
	return slowObjects{r.NamespaceableResourceInterface.Namespace(ns)}
}

type slowObjects struct{ dynamic.ResourceInterface }

func (o slowObjects) List(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	roundTrip()
	return o.ResourceInterface.List(ctx, opts)
}

func (o slowObjects) Get(ctx context.Context, name string, opts metav1.GetOptions, sub ...string) (*unstructured.Unstructured, error) {
	roundTrip()
	return o.ResourceInterface.Get(ctx, name, opts, sub...)
}

func (o slowObjects) Create(ctx context.Context, obj *unstructured.Unstructured, opts metav1.CreateOptions, sub ...string) (*unstructured.Unstructured, error) {
	roundTrip()
	return o.ResourceInterface.Create(ctx, obj, opts, sub...)
}

func (o slowObjects) Update(ctx context.Context, obj *unstructured.Unstructured, opts metav1.UpdateOptions, sub ...string) (*unstructured.Unstructured, error) {
	roundTrip()
	return o.ResourceInterface.Update(ctx, obj, opts, sub...)
}

func (o slowObjects) Delete(ctx context.Context, name string, opts metav1.DeleteOptions, sub ...string) error {
	roundTrip()
	return o.ResourceInterface.Delete(ctx, name, opts, sub...)
}
