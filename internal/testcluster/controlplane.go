package testcluster

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The control plane: istiod's namespace, and its image, of ProxyImage's version.
const (
	IstioNamespace = "istio-system"
	IstiodImage    = "docker.io/istio/pilot:1.28.0"
)

// LoadControlPlane writes what `istioctl install` leaves in istio-system, as far as the API
// server can hold it without a kubelet: istiod's Deployment with `replicas` ready replicas
// (its status written as the Deployment controller would), and the sidecar injector's
// webhook configuration, without a webhook the API server would call.
func (f *Fixture) LoadControlPlane(ctx context.Context, replicas int32) error {
	if err := f.EnsureNamespace(ctx, IstioNamespace, nil); err != nil {
		return err
	}
	labels := map[string]string{"app": "istiod", "istio": "pilot"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "istiod", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{ServiceAccountName: "istiod", Containers: []corev1.Container{{Name: "discovery", Image: IstiodImage}}},
			},
		},
	}
	created, err := f.Kube.AppsV1().Deployments(IstioNamespace).Create(ctx, d, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deployment %s/istiod: %w", IstioNamespace, err)
	}
	created.Status = appsv1.DeploymentStatus{Replicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas, UpdatedReplicas: replicas}
	if _, err := f.Kube.AppsV1().Deployments(IstioNamespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("deployment %s/istiod status: %w", IstioNamespace, err)
	}
	webhook := &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "istio-sidecar-injector", Labels: map[string]string{"app": "sidecar-injector"}}}
	if _, err := f.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, webhook, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("mutatingwebhookconfiguration istio-sidecar-injector: %w", err)
	}
	return nil
}
