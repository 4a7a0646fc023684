// Package sim is the sandbox's data plane: it stands in for Envoy sidecars, sending bookinfo's
// traffic through the mesh as the cluster's Services, VirtualServices, DestinationRules,
// PeerAuthentications and AuthorizationPolicies say, and exposing the Istio standard metrics
// per sidecar for Prometheus to scrape.
//
// It is a test oracle for the plugins, so it imports nothing from pkg/: its reading of Istio's
// routing and policy semantics is written separately, from Istio's documentation, so that a
// misreading in a plugin cannot hide behind the same misreading here.
package sim

import (
	"context"
	"sort"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/util/podutils"
)

// Annotations on a Deployment that shape its simulated behaviour, read on every refresh.
const (
	LatencyAnnotation   = "sandbox.kubectl-mesh.dev/latency-ms" // median added latency, ms
	ErrorRateAnnotation = "sandbox.kubectl-mesh.dev/error-rate" // share of 5xx answers, 0 to 1
	// TraceContextAnnotation says whether the app copies the trace headers to its calls:
	// "forward" or "drop"; unset, the Tracer's DropsContext decides by app.
	TraceContextAnnotation = "sandbox.kubectl-mesh.dev/trace-context"
)

// DefaultCluster is the cluster ID istiod runs with when CLUSTER_ID is not set.
const DefaultCluster = "Kubernetes"

// RootNamespace holds mesh-wide policies.
const RootNamespace = "istio-system"

// Snapshot is the cluster's mesh configuration at one moment.
type Snapshot struct {
	// Cluster is the cluster's ID, as its istiod's CLUSTER_ID names it ("": DefaultCluster).
	Cluster               string
	Namespaces            []corev1.Namespace
	Pods                  []corev1.Pod
	Services              []corev1.Service
	Deployments           []appsv1.Deployment
	DestinationRules      []*networkingv1.DestinationRule
	VirtualServices       []*networkingv1.VirtualService
	PeerAuthentications   []*securityv1.PeerAuthentication
	AuthorizationPolicies []*securityv1.AuthorizationPolicy
	// HTTPRoutes of Gateway API, as the API server returns them.
	HTTPRoutes []*unstructured.Unstructured
}

// httpRoutes is Gateway API's HTTPRoute resource.
var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// Load reads a snapshot of every namespace. dyn reads Gateway API's objects (nil: none).
func Load(ctx context.Context, kube kubernetes.Interface, istio istioclient.Interface, dyn dynamic.Interface) (*Snapshot, error) {
	s := &Snapshot{}
	all := metav1.ListOptions{}
	if dyn != nil {
		routes, err := dyn.Resource(httpRoutes).List(ctx, all)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		if routes != nil {
			for i := range routes.Items {
				s.HTTPRoutes = append(s.HTTPRoutes, &routes.Items[i])
			}
		}
	}
	namespaces, err := kube.CoreV1().Namespaces().List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.Namespaces = namespaces.Items
	pods, err := kube.CoreV1().Pods("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.Pods = pods.Items
	svcs, err := kube.CoreV1().Services("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.Services = svcs.Items
	deps, err := kube.AppsV1().Deployments("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.Deployments = deps.Items
	drs, err := istio.NetworkingV1().DestinationRules("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.DestinationRules = drs.Items
	vss, err := istio.NetworkingV1().VirtualServices("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.VirtualServices = vss.Items
	pas, err := istio.SecurityV1().PeerAuthentications("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.PeerAuthentications = pas.Items
	aps, err := istio.SecurityV1().AuthorizationPolicies("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	s.AuthorizationPolicies = aps.Items
	return s, nil
}

// Workload is what one Deployment runs: the unit Istio's metrics name as source_workload and
// destination_workload.
type Workload struct {
	// Cluster is the ID of the cluster the workload runs in (source_cluster and
	// destination_cluster in its reports).
	Cluster         string
	Namespace, Name string
	App, Version    string
	ServiceAccount  string
	Labels          map[string]string
	Sidecar         bool
	// Ambient: no sidecar, and enrolled in ambient mode (its namespace or itself labelled
	// istio.io/dataplane-mode=ambient, not opted out with none): ztunnel carries its traffic.
	Ambient bool
	// Waypoint: a waypoint proxy Istio deployed (Gateway class istio-waypoint).
	Waypoint  bool
	Pods      []*corev1.Pod // ready pods
	LatencyMs float64       // median added latency; 0: the default
	ErrorRate float64
	// TraceContext is "forward" or "drop" (TraceContextAnnotation), "" for the app's default.
	TraceContext string
}

// Principal is the workload's SPIFFE identity.
func (w *Workload) Principal() string {
	return "spiffe://cluster.local/ns/" + w.Namespace + "/sa/" + w.ServiceAccount
}

// Workloads groups the snapshot's running pods by the Deployment that selects them (or by
// app and version labels when none does).
func (s *Snapshot) Workloads() []*Workload {
	byKey := map[string]*Workload{}
	var out []*Workload
	for i := range s.Pods {
		pod := &s.Pods[i]
		if pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
			continue
		}
		dep := s.deploymentOf(pod)
		name := pod.Labels["app"]
		if v := pod.Labels["version"]; v != "" {
			name += "-" + v
		}
		app := pod.Labels["app"]
		if app == "" {
			app = pod.Labels["gateway.networking.k8s.io/gateway-name"] // a Gateway's proxy
		}
		if name == "" {
			name = app
		}
		if name == "" {
			name = pod.Name
		}
		if dep != nil {
			name = dep.Name
		}
		key := pod.Namespace + "/" + name
		w, ok := byKey[key]
		if !ok {
			w = &Workload{
				Cluster:   s.clusterID(),
				Namespace: pod.Namespace, Name: name,
				App: app, Version: pod.Labels["version"],
				ServiceAccount: pod.Spec.ServiceAccountName, Labels: pod.Labels,
				Sidecar:  hasSidecar(pod),
				Waypoint: pod.Labels["gateway.networking.k8s.io/gateway-class-name"] == "istio-waypoint",
			}
			w.Ambient = !w.Sidecar && s.enrolledInAmbient(pod)
			if w.ServiceAccount == "" {
				w.ServiceAccount = "default"
			}
			if dep != nil {
				w.LatencyMs = annotationFloat(dep.Annotations[LatencyAnnotation])
				w.ErrorRate = annotationFloat(dep.Annotations[ErrorRateAnnotation])
				w.TraceContext = dep.Annotations[TraceContextAnnotation]
			}
			byKey[key] = w
			out = append(out, w)
		}
		if podutils.IsPodReady(pod) {
			w.Pods = append(w.Pods, pod)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out
}

// clusterID is the snapshot's cluster ID, DefaultCluster when it names none.
func (s *Snapshot) clusterID() string {
	if s.Cluster == "" {
		return DefaultCluster
	}
	return s.Cluster
}

// enrolledInAmbient: the pod's own dataplane-mode label decides, else its namespace's.
func (s *Snapshot) enrolledInAmbient(pod *corev1.Pod) bool {
	switch pod.Labels["istio.io/dataplane-mode"] {
	case "ambient":
		return true
	case "none":
		return false
	}
	return s.namespaceLabels(pod.Namespace)["istio.io/dataplane-mode"] == "ambient"
}

func (s *Snapshot) namespaceLabels(name string) map[string]string {
	for _, ns := range s.Namespaces {
		if ns.Name == name {
			return ns.Labels
		}
	}
	return nil
}

func (s *Snapshot) deploymentOf(pod *corev1.Pod) *appsv1.Deployment {
	for i := range s.Deployments {
		d := &s.Deployments[i]
		if d.Namespace != pod.Namespace || d.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			return d
		}
	}
	return nil
}

func hasSidecar(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == "istio-proxy" {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == "istio-proxy" && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return true
		}
	}
	return false
}
