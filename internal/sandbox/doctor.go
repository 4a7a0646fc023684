package sandbox

import (
	"context"
	"fmt"

	apinetworking "istio.io/api/networking/v1alpha3"
	apisecurity "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// loadDoctorExamples leaves the problems `kubectl mesh doctor` looks for, beside the ones the
// layout has already (one istiod replica without a budget or a revision, mongodb a StatefulSet
// with a classic sidecar, sidecars on the injector's default requests, no Sidecar resources):
// legacy labelled for injection after curl-client started, with mTLS turned off for it both
// ways, and a details pod not restarted since the last upgrade. None changes the traffic.
func loadDoctorExamples(ctx context.Context, f *testcluster.Fixture) error {
	const ns = "legacy"
	if err := f.EnsureNamespace(ctx, ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		return err
	}
	pa := &securityv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	pa.Spec.Mtls = &apisecurity.PeerAuthentication_MutualTLS{Mode: apisecurity.PeerAuthentication_MutualTLS_DISABLE}
	if _, err := f.Istio.SecurityV1().PeerAuthentications(ns).Create(ctx, pa, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("peerauthentication %s/default: %w", ns, err)
	}
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "curl-client", Namespace: ns}}
	dr.Spec.Host = "curl-client"
	dr.Spec.TrafficPolicy = &apinetworking.TrafficPolicy{Tls: &apinetworking.ClientTLSSettings{Mode: apinetworking.ClientTLSSettings_DISABLE}}
	if _, err := f.Istio.NetworkingV1().DestinationRules(ns).Create(ctx, dr, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("destinationrule %s/curl-client: %w", ns, err)
	}
	pods := f.Kube.CoreV1().Pods("default")
	pod, err := pods.Get(ctx, "details-v1-0", metav1.GetOptions{})
	if err != nil {
		return err
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == "istio-proxy" {
			pod.Spec.Containers[i].Image = "docker.io/istio/proxyv2:1.27.3"
		}
	}
	_, err = pods.Update(ctx, pod, metav1.UpdateOptions{})
	return err
}
