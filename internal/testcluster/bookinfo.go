package testcluster

import (
	"context"
	"fmt"
	"sync/atomic"

	apinetworking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/podutils"
)

// Workload is one Deployment's worth of pods in a fixture: the labels Istio and our plugins
// read (app, version), its ServiceAccount, and how many of its pods are ready.
type Workload struct {
	App, Version   string
	ServiceAccount string
	Replicas       int
	Ready          int
	NoSidecar      bool // pods without istio-proxy, as in a namespace without injection
	// Port is the service and container port (default 9080, named http); TCP names it tcp.
	Port int32
	TCP  bool
	// Annotations go on the workload's Deployment.
	Annotations map[string]string
	// Labels are added to the pods' (a track: green beside a track: blue); Name then tells
	// the Deployment (and its pods) apart from another of the same app and version.
	Labels map[string]string
	Name   string
	// StatefulSet runs the workload as a StatefulSet (its pods NAME-0, NAME-1 ... owned by
	// it) instead of a Deployment.
	StatefulSet bool
}

func (w Workload) port() int32 {
	if w.Port == 0 {
		return 9080
	}
	return w.Port
}

func (w Workload) portName() string {
	if w.TCP {
		return "tcp"
	}
	return "http"
}

// Bookinfo is Istio's sample application as the tutorial deploys it: four services, reviews
// in three versions.
var Bookinfo = []Workload{
	{App: "productpage", Version: "v1", ServiceAccount: "bookinfo-productpage", Replicas: 1, Ready: 1},
	{App: "details", Version: "v1", ServiceAccount: "bookinfo-details", Replicas: 1, Ready: 1},
	{App: "ratings", Version: "v1", ServiceAccount: "bookinfo-ratings", Replicas: 1, Ready: 1},
	{App: "reviews", Version: "v1", ServiceAccount: "bookinfo-reviews", Replicas: 1, Ready: 1},
	{App: "reviews", Version: "v2", ServiceAccount: "bookinfo-reviews", Replicas: 1, Ready: 1},
	{App: "reviews", Version: "v3", ServiceAccount: "bookinfo-reviews", Replicas: 1, Ready: 1},
}

// ProxyImage is the sidecar image fixtures put in istio-proxy containers.
const ProxyImage = "docker.io/istio/proxyv2:1.28.0"

// Fixture writes the objects a real cluster would hold for a set of workloads: what users
// apply (Services, ServiceAccounts, DestinationRules) and what controllers and kubelets would
// write (Pods marked Running and Ready through the status subresource, EndpointSlices).
type Fixture struct {
	Kube  kubernetes.Interface
	Istio istioclient.Interface
	// Dynamic writes what has no typed client here: Gateway API objects.
	Dynamic dynamic.Interface
}

// NewFixture builds clients from cfg (an admin's).
func NewFixture(cfg *rest.Config) (*Fixture, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	istio, err := istioclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Fixture{Kube: kube, Istio: istio, Dynamic: dyn}, nil
}

// LoadBookinfo loads bookinfo into namespace ns (created, labelled for sidecar injection),
// with a DestinationRule per service whose subsets are the versions deployed.
func (f *Fixture) LoadBookinfo(ctx context.Context, ns string) error {
	if err := f.EnsureNamespace(ctx, ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		return err
	}
	return f.LoadApp(ctx, ns, Bookinfo...)
}

// EnsureNamespace creates ns, or adds labels to it when it exists.
func (f *Fixture) EnsureNamespace(ctx context.Context, ns string, labels map[string]string) error {
	existing, err := f.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = f.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if existing.Labels == nil {
		existing.Labels = map[string]string{}
	}
	for k, v := range labels {
		existing.Labels[k] = v
	}
	_, err = f.Kube.CoreV1().Namespaces().Update(ctx, existing, metav1.UpdateOptions{})
	return err
}

// LoadApp writes workloads into ns: per app a Service, its EndpointSlice and a
// DestinationRule with one subset per version (in the order given); per workload a
// ServiceAccount and its pods.
func (f *Fixture) LoadApp(ctx context.Context, ns string, workloads ...Workload) error {
	return f.loadApp(ctx, ns, true, workloads...)
}

// LoadBookinfoVersions loads bookinfo into ns as Istio's Gateway API tasks deploy it: the
// namespace labelled (for sidecar injection, or ambient mode when dataplane is "ambient"),
// no DestinationRules, and one Service per version (reviews-v1, ... as bookinfo-versions.yaml).
func (f *Fixture) LoadBookinfoVersions(ctx context.Context, ns, dataplane string) error {
	labels := map[string]string{"istio-injection": "enabled"}
	if dataplane == "ambient" {
		labels = map[string]string{"istio.io/dataplane-mode": "ambient"}
	}
	if err := f.EnsureNamespace(ctx, ns, labels); err != nil {
		return err
	}
	workloads := append([]Workload{}, Bookinfo...)
	for i := range workloads {
		workloads[i].NoSidecar = dataplane == "ambient"
	}
	if err := f.loadApp(ctx, ns, false, workloads...); err != nil {
		return err
	}
	return f.LoadVersionServices(ctx, ns, workloads...)
}

// LoadVersionServices writes, per workload with a version, a Service APP-VERSION selecting
// app and version, and its EndpointSlice over the workload's pods (which must exist).
func (f *Fixture) LoadVersionServices(ctx context.Context, ns string, workloads ...Workload) error {
	for _, w := range workloads {
		if w.Version == "" {
			continue
		}
		pods, err := f.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + w.App + ",version=" + w.Version})
		if err != nil {
			return err
		}
		var endpoints []discoveryv1.Endpoint
		for i := range pods.Items {
			endpoints = append(endpoints, endpointOf(&pods.Items[i]))
		}
		name := w.App + "-" + w.Version
		selector := map[string]string{"app": w.App, "version": w.Version}
		if err := f.createService(ctx, ns, name, selector, w, endpoints); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fixture) loadApp(ctx context.Context, ns string, subsets bool, workloads ...Workload) error {
	var apps []string
	byApp := map[string][]Workload{}
	for _, w := range workloads {
		if _, seen := byApp[w.App]; !seen {
			apps = append(apps, w.App)
		}
		byApp[w.App] = append(byApp[w.App], w)
	}
	for _, app := range apps {
		var endpoints []discoveryv1.Endpoint
		for _, w := range byApp[app] {
			eps, err := f.createWorkload(ctx, ns, w)
			if err != nil {
				return err
			}
			endpoints = append(endpoints, eps...)
		}
		if err := f.createService(ctx, ns, app, map[string]string{"app": app}, byApp[app][0], endpoints); err != nil {
			return err
		}
		if !subsets {
			continue
		}
		if err := f.createDestinationRule(ctx, ns, app, byApp[app]); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fixture) createWorkload(ctx context.Context, ns string, w Workload) ([]discoveryv1.Endpoint, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: w.ServiceAccount, Labels: map[string]string{"account": w.App}}}
	if _, err := f.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("serviceaccount %s/%s: %w", ns, w.ServiceAccount, err)
	}
	var owner *metav1.OwnerReference
	if w.StatefulSet {
		set, err := f.createStatefulSet(ctx, ns, w)
		if err != nil {
			return nil, err
		}
		owner = &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: set.Name, UID: set.UID, Controller: ptr(true)}
	} else if err := f.createDeployment(ctx, ns, w); err != nil {
		return nil, err
	}
	var endpoints []discoveryv1.Endpoint
	for i := range w.Replicas {
		pod, err := f.createPod(ctx, ns, w, i, i < w.Ready, owner)
		if err != nil {
			return nil, err
		}
		endpoints = append(endpoints, endpointOf(pod))
	}
	return endpoints, nil
}

// endpointOf is a pod's entry in an EndpointSlice, as the endpointslice controller writes it.
func endpointOf(pod *corev1.Pod) discoveryv1.Endpoint {
	ready := podutils.IsPodReady(pod)
	return discoveryv1.Endpoint{
		Addresses:  []string{pod.Status.PodIP},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &ready, Terminating: ptr(false)},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		NodeName:   ptr(pod.Spec.NodeName),
	}
}

var podIPs atomic.Uint32

func nextPodIP() string {
	n := podIPs.Add(1)
	return fmt.Sprintf("10.244.%d.%d", n/250, n%250+1)
}

// PodLabels are the labels a Deployment and, for a pod with a sidecar, Istio's injector would
// give a workload's pods. Pods without a sidecar (ambient, or outside the mesh) are not
// injected: they carry no tlsMode and no canonical service labels of the injector's, and Istio
// reads their canonical service and revision from their other labels.
func PodLabels(w Workload) map[string]string {
	labels := map[string]string{"app": w.App}
	if !w.NoSidecar {
		labels["security.istio.io/tlsMode"] = "istio"
		labels["service.istio.io/canonical-name"] = w.App
		labels["service.istio.io/canonical-revision"] = "latest"
	}
	if w.Version != "" {
		labels["version"] = w.Version
		if !w.NoSidecar {
			labels["service.istio.io/canonical-revision"] = w.Version
		}
	}
	for k, v := range w.Labels {
		labels[k] = v
	}
	return labels
}

// WorkloadName is the Deployment name a workload stands for: its Name, else app-version, or
// app alone.
func WorkloadName(w Workload) string {
	if w.Name != "" {
		return w.Name
	}
	if w.Version == "" {
		return w.App
	}
	return w.App + "-" + w.Version
}

func (f *Fixture) createPod(ctx context.Context, ns string, w Workload, index int, ready bool, owner *metav1.OwnerReference) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", WorkloadName(w), index), Labels: PodLabels(w)},
		Spec: corev1.PodSpec{
			ServiceAccountName: w.ServiceAccount,
			Containers: []corev1.Container{
				appContainer(w),
			},
		},
	}
	if owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	if !w.NoSidecar {
		pod.Annotations = map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"],"initContainers":["istio-init"]}`}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: "istio-proxy", Image: ProxyImage, Args: []string{"proxy", "sidecar"},
			Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090}},
			// What Istio's injector gives a sidecar when nothing tunes it.
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
			}},
		})
	}
	return f.runPod(ctx, ns, pod, ready)
}

func appContainer(w Workload) corev1.Container {
	return corev1.Container{Name: w.App, Image: "docker.io/istio/examples-bookinfo-" + WorkloadName(w) + ":1.20.2", Ports: []corev1.ContainerPort{{ContainerPort: w.port()}}}
}

// createDeployment writes the Deployment the workload's pods stand for. Without a controller
// manager it creates no pods; it carries the workload's name and annotations.
func (f *Fixture) createDeployment(ctx context.Context, ns string, w Workload) error {
	selector := map[string]string{"app": w.App}
	if w.Version != "" {
		selector["version"] = w.Version
	}
	for k, v := range w.Labels {
		selector[k] = v
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: WorkloadName(w), Labels: selector, Annotations: w.Annotations},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(w.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: PodLabels(w)},
				Spec:       corev1.PodSpec{ServiceAccountName: w.ServiceAccount, Containers: []corev1.Container{appContainer(w)}},
			},
		},
	}
	if _, err := f.Kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("deployment %s/%s: %w", ns, d.Name, err)
	}
	return nil
}

// createStatefulSet writes the StatefulSet the workload's pods belong to; without a
// controller manager it creates no pods.
func (f *Fixture) createStatefulSet(ctx context.Context, ns string, w Workload) (*appsv1.StatefulSet, error) {
	selector := map[string]string{"app": w.App}
	if w.Version != "" {
		selector["version"] = w.Version
	}
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: WorkloadName(w), Labels: selector, Annotations: w.Annotations},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr(int32(w.Replicas)),
			ServiceName: w.App,
			Selector:    &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: PodLabels(w)},
				Spec:       corev1.PodSpec{ServiceAccountName: w.ServiceAccount, Containers: []corev1.Container{appContainer(w)}},
			},
		},
	}
	created, err := f.Kube.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("statefulset %s/%s: %w", ns, set.Name, err)
	}
	return created, nil
}

// runPod creates pod on a (fictitious) node and reports it Running, as a scheduler and a
// kubelet would, Ready or not.
func (f *Fixture) runPod(ctx context.Context, ns string, pod *corev1.Pod, ready bool) (*corev1.Pod, error) {
	pod.Spec.NodeName = "node-1"
	pod.Spec.AutomountServiceAccountToken = ptr(false)
	created, err := f.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, pod.Name, err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	now := metav1.Now()
	created.Status = corev1.PodStatus{
		Phase:     corev1.PodRunning,
		PodIP:     nextPodIP(),
		HostIP:    "192.0.2.1",
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: status, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: status, LastTransitionTime: now},
		},
	}
	created.Status.PodIPs = []corev1.PodIP{{IP: created.Status.PodIP}}
	for _, c := range created.Spec.Containers {
		created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: ready, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	updated, err := f.Kube.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s status: %w", ns, pod.Name, err)
	}
	return updated, nil
}

func (f *Fixture) createService(ctx context.Context, ns, name string, selector map[string]string, w Workload, endpoints []discoveryv1.Endpoint) error {
	app := name
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": w.App, "service": name}},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: w.portName(), Port: w.port(), TargetPort: intstr.FromInt32(w.port()), Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := f.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("service %s/%s: %w", ns, app, err)
	}
	// What the endpointslice controller would write.
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: app + "-fixture",
			Labels: map[string]string{
				discoveryv1.LabelServiceName: app,
				discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
			},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   endpoints,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr(w.portName()), Port: ptr(w.port()), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	if _, err := f.Kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("endpointslice %s/%s: %w", ns, slice.Name, err)
	}
	return nil
}

func (f *Fixture) createDestinationRule(ctx context.Context, ns, app string, workloads []Workload) error {
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: app}}
	dr.Spec.Host = app
	for _, w := range workloads {
		if w.Version == "" {
			continue
		}
		dr.Spec.Subsets = append(dr.Spec.Subsets, &apinetworking.Subset{Name: w.Version, Labels: map[string]string{"version": w.Version}})
	}
	if len(dr.Spec.Subsets) == 0 {
		return nil
	}
	if _, err := f.Istio.NetworkingV1().DestinationRules(ns).Create(ctx, dr, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("destinationrule %s/%s: %w", ns, app, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
