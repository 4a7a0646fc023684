package testcluster

import (
	"context"
	"fmt"

	apinetworking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The ingress gateway as istioctl install deploys it.
const (
	IngressNamespace      = "istio-system"
	IngressServiceAccount = "istio-ingressgateway-service-account"
	// IngressPrincipal is the identity AuthorizationPolicies name the gateway by.
	IngressPrincipal = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
)

// IngressLabels are the ingress gateway pods' labels; Gateways select them by istio=ingressgateway.
var IngressLabels = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}

// LoadIngressGateway runs Istio's ingress gateway in istio-system: its ServiceAccount, Service
// and one Ready pod. It does nothing when the gateway is there already.
func (f *Fixture) LoadIngressGateway(ctx context.Context) error {
	if err := f.EnsureNamespace(ctx, IngressNamespace, nil); err != nil {
		return err
	}
	_, err := f.Kube.CoreV1().ServiceAccounts(IngressNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: IngressServiceAccount}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ingress gateway service account: %w", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-ingressgateway", Labels: IngressLabels},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: IngressLabels,
			Ports: []corev1.ServicePort{
				{Name: "http2", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP},
				{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	if _, err := f.Kube.CoreV1().Services(IngressNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("ingress gateway service: %w", err)
	}
	pod := routerPod("istio-ingressgateway-0", IngressLabels, IngressServiceAccount, 8080, 8443)
	_, err = f.runPod(ctx, IngressNamespace, pod, true)
	return err
}

// LoadBookinfoGateway exposes bookinfo in ns as the tutorial does: Gateway bookinfo-gateway
// on the ingress gateway, and VirtualService bookinfo routing /productpage to productpage.
// The host is BookinfoHost(ns): gateways of several namespaces on one ingress gateway must not
// claim the same host (istioctl analyze: IST0145).
func (f *Fixture) LoadBookinfoGateway(ctx context.Context, ns string) error {
	host := BookinfoHost(ns)
	gw := &networkingv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo-gateway"}}
	gw.Spec.Selector = map[string]string{"istio": "ingressgateway"}
	gw.Spec.Servers = []*apinetworking.Server{{
		Port:  &apinetworking.Port{Number: 8080, Name: "http", Protocol: "HTTP"},
		Hosts: []string{host},
	}}
	if _, err := f.Istio.NetworkingV1().Gateways(ns).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("gateway %s/bookinfo-gateway: %w", ns, err)
	}
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo"}}
	vs.Spec.Hosts = []string{host}
	vs.Spec.Gateways = []string{"bookinfo-gateway"}
	vs.Spec.Http = []*apinetworking.HTTPRoute{{
		Match: []*apinetworking.HTTPMatchRequest{{Uri: &apinetworking.StringMatch{MatchType: &apinetworking.StringMatch_Prefix{Prefix: "/productpage"}}}},
		Route: []*apinetworking.HTTPRouteDestination{{Destination: &apinetworking.Destination{Host: "productpage", Port: &apinetworking.PortSelector{Number: 9080}}}},
	}}
	if _, err := f.Istio.NetworkingV1().VirtualServices(ns).Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("virtualservice %s/bookinfo: %w", ns, err)
	}
	return nil
}

// BookinfoHost is the external host bookinfo of namespace ns is served on.
func BookinfoHost(ns string) string { return ns + ".bookinfo.example.com" }

// routerPod is a gateway's pod as Istio runs it: an istio-proxy in router mode, not injected,
// listening on ports and serving its metrics on 15090.
func routerPod(name string, labels map[string]string, serviceAccount string, ports ...int32) *corev1.Pod {
	var containerPorts []corev1.ContainerPort
	for _, p := range ports {
		containerPorts = append(containerPorts, corev1.ContainerPort{ContainerPort: p})
	}
	containerPorts = append(containerPorts, corev1.ContainerPort{Name: "http-envoy-prom", ContainerPort: 15090})
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{"sidecar.istio.io/inject": "false"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "istio-proxy", Image: ProxyImage, Args: []string{"proxy", "router"}, Ports: containerPorts}},
		},
	}
}
