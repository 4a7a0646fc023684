package testcluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var (
	k8sGateways = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	httpRoutes  = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
)

// LoadReviewsHTTPRoute attaches an HTTPRoute to Service reviews of ns that sends every request
// to reviews-v1, as Istio's route-reviews-v1.yaml does.
func (f *Fixture) LoadReviewsHTTPRoute(ctx context.Context, ns string) error {
	return f.LoadRoute(ctx, ns, "reviews", "Service", "reviews", "reviews-v1", 9080)
}

// LoadGatewayAPIGateway creates a Gateway API Gateway of class in ns and what Istio's
// deployment controller makes of it (class istio: Deployment, ServiceAccount and Service
// NAME-istio; class istio-waypoint: NAME), with one Ready pod labelled as Istio labels it.
func (f *Fixture) LoadGatewayAPIGateway(ctx context.Context, ns, name, class string) error {
	listeners := []any{map[string]any{"name": "http", "port": int64(80), "protocol": "HTTP", "allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}}}}
	if class == "istio-waypoint" {
		listeners = []any{map[string]any{"name": "mesh", "port": int64(15008), "protocol": "HBONE"}}
	}
	gw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"gatewayClassName": class, "listeners": listeners},
	}}
	if _, err := f.Dynamic.Resource(k8sGateways).Namespace(ns).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("gateway %s/%s: %w", ns, name, err)
	}
	deployed := name + "-" + class
	if class == "istio-waypoint" {
		deployed = name
	}
	labels := map[string]string{
		"gateway.networking.k8s.io/gateway-name":       name,
		"gateway.networking.k8s.io/gateway-class-name": class,
		"service.istio.io/canonical-name":              deployed,
	}
	if class == "istio-waypoint" {
		labels["istio.io/dataplane-mode"] = "none" // a waypoint is not itself captured by ztunnel
	}
	if _, err := f.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: deployed}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("serviceaccount %s/%s: %w", ns, deployed, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: deployed, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"gateway.networking.k8s.io/gateway-name": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := f.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("service %s/%s: %w", ns, deployed, err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: deployed + "-0", Labels: labels, Annotations: map[string]string{"sidecar.istio.io/inject": "false"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: deployed,
			Containers:         []corev1.Container{{Name: "istio-proxy", Image: ProxyImage, Args: []string{"proxy", "router"}}},
		},
	}
	_, err := f.runPod(ctx, ns, pod, true)
	return err
}

// LoadZtunnel runs ztunnel for the (one) node, as Istio's ambient install does: a pod in
// istio-system labelled app=ztunnel, whose metrics endpoint carries ztunnel's reports.
func (f *Fixture) LoadZtunnel(ctx context.Context) error {
	if err := f.EnsureNamespace(ctx, "istio-system", nil); err != nil {
		return err
	}
	if _, err := f.Kube.CoreV1().ServiceAccounts("istio-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ztunnel"}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("serviceaccount istio-system/ztunnel: %w", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ztunnel-node-1", Labels: map[string]string{"app": "ztunnel"}, Annotations: map[string]string{"sidecar.istio.io/inject": "false"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "ztunnel",
			Containers:         []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/ztunnel:1.28.0", Ports: []corev1.ContainerPort{{Name: "ztunnel-stats", ContainerPort: 15020}}}},
		},
	}
	_, err := f.runPod(ctx, "istio-system", pod, true)
	return err
}

// LabelService adds labels to a Service (istio.io/use-waypoint, say).
func (f *Fixture) LabelService(ctx context.Context, ns, name string, labels map[string]string) error {
	svc, err := f.Kube.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if svc.Labels == nil {
		svc.Labels = map[string]string{}
	}
	for k, v := range labels {
		svc.Labels[k] = v
	}
	_, err = f.Kube.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{})
	return err
}

// LoadRoute attaches an HTTPRoute named name to a parent (a Service of ns for mesh traffic,
// or a Gateway for ingress) that sends every request to backend on port.
func (f *Fixture) LoadRoute(ctx context.Context, ns, name, parentKind, parent, backend string, port int64) error {
	ref := map[string]any{"kind": parentKind, "name": parent}
	if parentKind == "Service" {
		ref["group"] = ""
		ref["port"] = port
	}
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"parentRefs": []any{ref},
			"rules":      []any{map[string]any{"backendRefs": []any{map[string]any{"name": backend, "port": port}}}},
		},
	}}
	if _, err := f.Dynamic.Resource(httpRoutes).Namespace(ns).Create(ctx, route, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("httproute %s/%s: %w", ns, name, err)
	}
	return nil
}
