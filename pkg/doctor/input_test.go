package doctor

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// healthyControlPlane is an install with nothing to report: istiod on a revision, two ready
// replicas under a PodDisruptionBudget, the injector's webhook.
const healthyControlPlane = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod-1-24, namespace: istio-system, labels: {app: istiod, istio.io/rev: 1-24}}
spec:
  replicas: 2
  selector: {matchLabels: {app: istiod, istio.io/rev: 1-24}}
  template:
    metadata: {labels: {app: istiod, istio.io/rev: 1-24}}
    spec: {containers: [{name: discovery, image: docker.io/istio/pilot:1.24.2}]}
status: {readyReplicas: 2}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: istiod-1-24, namespace: istio-system}
spec: {minAvailable: 1, selector: {matchLabels: {app: istiod}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-1-24}
`

// inputOf sorts the objects of a YAML document into an Input over every namespace.
func inputOf(t testing.TB, docs ...string) Input {
	t.Helper()
	objects, err := manifest.Decode([]byte(strings.Join(docs, "\n---\n")))
	if err != nil {
		t.Fatal(err)
	}
	in := Input{IstioServed: true, Mesh: istio.DefaultMeshConfig()}
	for _, obj := range objects {
		switch obj.GetKind() {
		case "Namespace":
			var ns corev1.Namespace
			mustConvert(t, obj.Object, &ns)
			in.Namespaces = append(in.Namespaces, ns)
		case "Pod":
			var pod corev1.Pod
			mustConvert(t, obj.Object, &pod)
			in.Pods = append(in.Pods, pod)
		case "Deployment":
			in.ControlPlane = append(in.ControlPlane, obj)
		case "StatefulSet":
			in.StatefulSets = append(in.StatefulSets, obj)
		case "PodDisruptionBudget":
			in.DisruptionBudgets = append(in.DisruptionBudgets, obj)
		case "MutatingWebhookConfiguration":
			in.Webhooks = append(in.Webhooks, obj)
		case "PeerAuthentication":
			in.PeerAuthentications = append(in.PeerAuthentications, obj)
		case "DestinationRule":
			in.DestinationRules = append(in.DestinationRules, obj)
		case "Sidecar":
			in.Sidecars = append(in.Sidecars, obj)
		default:
			t.Fatalf("inputOf: no place for a %s", obj.GetKind())
		}
	}
	return in
}

func mustConvert(t testing.TB, from map[string]any, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(from, into); err != nil {
		t.Fatal(err)
	}
}

// findingsOf is Check's findings of one check as "severity object" lines.
func findingsOf(in Input, check string) []string {
	var out []string
	for _, f := range Check(in) {
		if f.Check == check {
			out = append(out, fmt.Sprintf("%s %s", f.Severity, f.Object))
		}
	}
	return out
}

// sidecarPod is a pod of namespace with an injected, untuned-or-not proxy.
func sidecarPod(namespace, name, extra string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s%s}
spec:
  containers:
  - {name: app, image: app}
  - name: istio-proxy
    image: docker.io/istio/proxyv2:1.24.2
    resources: {requests: {cpu: 200m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}
`, name, namespace, extra)
}

// plainPod is a pod of namespace without a sidecar.
func plainPod(namespace, name, extra string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s%s}
spec: {containers: [{name: app, image: app}]}
`, name, namespace, extra)
}

func namespace(name, labels string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {%s}}\n", name, labels)
}

// scopedSidecar limits namespace's proxies to what they call.
func scopedSidecar(namespace string) string {
	return fmt.Sprintf(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: %s}
spec: {egress: [{hosts: ["./*", "istio-system/*"]}]}
`, namespace)
}
