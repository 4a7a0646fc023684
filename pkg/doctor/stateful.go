package doctor

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

const statefulFix = `annotate its pod template with proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}', or run native sidecars (sidecar.istio.io/nativeSidecar: "true")`

// statefulSidecars: StatefulSets whose pods run a sidecar that may start after the app or go
// away before it (neither a native sidecar nor holdApplicationUntilProxyStarts): the
// tutorial's restart issues. Reported once per StatefulSet, from its pods; a StatefulSet
// with no pods yet is judged by its pod template and the injector's settings.
func statefulSidecars(in Input) []Finding {
	exposed := map[Object][]string{} // StatefulSet -> its exposed pods
	withPods := map[Object]bool{}
	for i := range in.Pods {
		pod := &in.Pods[i]
		owner := statefulSetOf(pod)
		if owner == "" || !in.inScope(pod.Namespace) {
			continue
		}
		set := Object{Kind: "StatefulSet", Namespace: pod.Namespace, Name: owner}
		withPods[set] = true
		if istio.HasSidecar(pod) && !istio.HasNativeSidecar(pod) && !holdsApplication(pod, in.Mesh) {
			exposed[set] = append(exposed[set], pod.Name)
		}
	}
	for _, set := range in.StatefulSets {
		object := objectOf(set)
		object.Kind = "StatefulSet"
		if !withPods[object] && in.inScope(set.GetNamespace()) && templateExposed(in, set) {
			exposed[object] = nil
		}
	}
	var findings []Finding
	for set, pods := range exposed {
		whose := "its pod template gets a sidecar (it has no pods yet)"
		if len(pods) > 0 {
			whose = fmt.Sprintf("its pods (%s) run a sidecar", output.Abbreviate(pods, 3))
		}
		findings = append(findings, Finding{Severity: Warning, Check: CheckStateful, Object: set,
			Why: whose + " that is not a native sidecar and does not hold the app until it starts: the app can start before its proxy, or lose it on restart",
			Fix: statefulFix})
	}
	return findings
}

func statefulSetOf(pod *corev1.Pod) string {
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "StatefulSet" {
			return ref.Name
		}
	}
	return ""
}

// templateExposed tells whether the pods set will create get a sidecar of the exposed kind:
// already injected into the template (istioctl kube-inject), or injected at creation.
func templateExposed(in Input, set *unstructured.Unstructured) bool {
	raw, _, _ := unstructured.NestedMap(set.Object, "spec", "template")
	var template corev1.PodTemplateSpec
	if runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &template) != nil {
		return false
	}
	pod := &corev1.Pod{ObjectMeta: template.ObjectMeta, Spec: template.Spec}
	pod.Namespace = set.GetNamespace()
	if istio.HasSidecar(pod) {
		return !istio.HasNativeSidecar(pod) && !holdsApplication(pod, in.Mesh)
	}
	labels := in.namespaceLabels(pod.Namespace)
	injected := pod.Labels["sidecar.istio.io/inject"] == "true" || injectionEnabled(labels) && !optedOut(pod) && !istio.NamespaceIsAmbient(labels)
	native := pod.Annotations["sidecar.istio.io/nativeSidecar"] == "true" ||
		nativeByDefault(in) && pod.Annotations["sidecar.istio.io/nativeSidecar"] != "false"
	return injected && !native && !holdsApplication(pod, in.Mesh)
}

// nativeByDefault tells whether istiod injects native sidecars unless a pod says otherwise.
func nativeByDefault(in Input) bool {
	for _, d := range controlPlane(in, isIstiod) {
		if istiodEnv(d, "ENABLE_NATIVE_SIDECARS") == "true" {
			return true
		}
	}
	return false
}

// holdsApplication reads holdApplicationUntilProxyStarts from the pod's proxy.istio.io/config
// annotation (YAML or JSON), else the mesh's default.
func holdsApplication(pod *corev1.Pod, mesh istio.MeshConfig) bool {
	config := strings.NewReplacer(" ", "", `"`, "", "'", "").Replace(pod.Annotations["proxy.istio.io/config"])
	switch {
	case strings.Contains(config, "holdApplicationUntilProxyStarts:true"):
		return true
	case strings.Contains(config, "holdApplicationUntilProxyStarts:false"):
		return false
	}
	return mesh.HoldApplicationUntilProxyStarts
}
