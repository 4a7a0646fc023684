package lockdown

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

func sidecarlessPod(name string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "legacy"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
	}
}

func TestOutsideMesh(t *testing.T) {
	pods := []corev1.Pod{
		sidecarlessPod("legacy-a"), sidecarlessPod("legacy-b"),
		{ObjectMeta: metav1.ObjectMeta{Name: "curl", Namespace: "legacy", Labels: map[string]string{"app": "curl-client"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "curl"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: "istio-system", Labels: map[string]string{"app": "istiod"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "discovery"}}}},
	}
	if got := strings.Join(OutsideMesh(pods, istio.DefaultRootNamespace), ", "); got != "default/legacy, legacy/curl-client" {
		t.Errorf("OutsideMesh = %s", got)
	}
}
