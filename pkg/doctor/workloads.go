package doctor

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Istio's default sidecar requests, when nothing tunes them.
var (
	defaultProxyCPU    = resource.MustParse("100m")
	defaultProxyMemory = resource.MustParse("128Mi")
)

// sidecarResources: per namespace, the sidecars left on Istio's default requests with no
// limits, and what they reserve together: the tutorial's default settings without tuning.
func sidecarResources(in Input) []Finding {
	type tally struct {
		count       int
		cpu, memory resource.Quantity
	}
	untuned := map[string]*tally{}
	for i := range in.Pods {
		pod := &in.Pods[i]
		proxy := proxyContainer(pod)
		if proxy == nil || isGateway(pod) || !in.inScope(pod.Namespace) || !onDefaults(proxy) {
			continue
		}
		t := untuned[pod.Namespace]
		if t == nil {
			t = &tally{}
			untuned[pod.Namespace] = t
		}
		t.count++
		t.cpu.Add(proxy.Resources.Requests[corev1.ResourceCPU])
		t.memory.Add(proxy.Resources.Requests[corev1.ResourceMemory])
	}
	var findings []Finding
	for _, ns := range slices.Sorted(maps.Keys(untuned)) {
		t := untuned[ns]
		findings = append(findings, Finding{Severity: Warning, Check: CheckResources, Object: Object{Kind: "Namespace", Name: ns},
			Why: fmt.Sprintf("%s run on Istio's default requests (100m CPU, 128Mi) with no limits: %s CPU and %s memory reserved, whatever the traffic", sidecars(t.count), t.cpu.String(), t.memory.String()),
			Fix: "size them: annotations sidecar.istio.io/proxyCPU, proxyMemory, proxyCPULimit, proxyMemoryLimit on the pod templates (or global.proxy.resources at install)"})
	}
	return findings
}

func proxyContainer(pod *corev1.Pod) *corev1.Container {
	if !istio.HasSidecar(pod) {
		return nil
	}
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == istio.ProxyContainer {
				return &list[i]
			}
		}
	}
	return nil
}

// isGateway tells a gateway's or a waypoint's pod, where Envoy is the workload (its only
// container), from a sidecar beside an app: Sidecar resources and injection defaults do not
// apply to it.
func isGateway(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name != istio.ProxyContainer {
			return false
		}
	}
	return len(pod.Spec.Containers) > 0
}

func onDefaults(c *corev1.Container) bool {
	cpu, memory := c.Resources.Requests[corev1.ResourceCPU], c.Resources.Requests[corev1.ResourceMemory]
	return len(c.Resources.Limits) == 0 && cpu.Cmp(defaultProxyCPU) == 0 && memory.Cmp(defaultProxyMemory) == 0
}

// sidecarScope: namespaces with sidecars that no Sidecar resource limits (egress hosts, from
// one of its namespace that selects the pod or none, or a namespace-wide one of the root
// namespace): each of those proxies holds the configuration of the whole mesh.
func sidecarScope(in Input) []Finding {
	if in.Unknown[SidecarReads] {
		return nil
	}
	unscoped := map[string]int{}
	for i := range in.Pods {
		if pod := &in.Pods[i]; in.inScope(pod.Namespace) && istio.HasSidecar(pod) && !isGateway(pod) && !limitsEgress(in, pod) {
			unscoped[pod.Namespace]++
		}
	}
	var findings []Finding
	for _, ns := range slices.Sorted(maps.Keys(unscoped)) {
		findings = append(findings, Finding{Severity: Info, Check: CheckSidecar, Object: Object{Kind: "Namespace", Name: ns},
			Why: fmt.Sprintf("no Sidecar resource limits the egress of %s here: each proxy holds the whole mesh's configuration, which grows with the mesh", sidecars(unscoped[ns])),
			Fix: fmt.Sprintf("apply a Sidecar in %s whose egress hosts are what it calls, e.g. [\"./*\", \"%s/*\"]", ns, istio.InstallNamespace)})
	}
	return findings
}

// limitsEgress tells whether a Sidecar resource with egress hosts applies to pod.
func limitsEgress(in Input, pod *corev1.Pod) bool {
	for _, s := range in.Sidecars {
		egress, _, _ := unstructured.NestedSlice(s.Object, "spec", "egress")
		if len(egress) == 0 {
			continue
		}
		selector, _, _ := unstructured.NestedStringMap(s.Object, "spec", "workloadSelector", "labels")
		switch {
		case s.GetNamespace() == pod.Namespace && (len(selector) == 0 || istio.SelectorMatches(selector, pod.Labels)):
			return true
		case s.GetNamespace() == in.Mesh.RootNamespace && len(selector) == 0:
			return true
		}
	}
	return false
}

// injectionGaps: pods running without a sidecar where injection is asked for (their
// namespace's label, or their own sidecar.istio.io/inject or istio.io/rev label; ambient
// namespaces aside): created before the label (a restart injects them), or opted out.
func injectionGaps(in Input) []Finding {
	var findings []Finding
	for i := range in.Pods {
		pod := &in.Pods[i]
		labels := in.namespaceLabels(pod.Namespace)
		if !in.inScope(pod.Namespace) || istio.HasSidecar(pod) || istio.NamespaceIsAmbient(labels) ||
			pod.Spec.HostNetwork || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		object := Object{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name}
		switch {
		case injectionEnabled(labels) && optedOut(pod):
			findings = append(findings, Finding{Severity: Info, Check: CheckInjection, Object: object,
				Why: "opted out of injection (sidecar.istio.io/inject: \"false\") in a namespace labelled for it: outside the mesh, no mTLS, no telemetry",
				Fix: "drop the opt-out if it should be in the mesh, then restart it"})
		case injectionEnabled(labels) || podAsksForInjection(pod, labels):
			findings = append(findings, Finding{Severity: Warning, Check: CheckInjection, Object: object,
				Why: "runs without a sidecar where injection is asked for: it was created before the label (or the injector was down)",
				Fix: restart(pod) + " (the injector adds the sidecar to new pods)"})
		}
	}
	return findings
}

// injectionEnabled: a namespace labelled for sidecar injection (istio-injection=disabled wins).
func injectionEnabled(labels map[string]string) bool {
	if labels["istio-injection"] == "disabled" {
		return false
	}
	return labels["istio-injection"] == "enabled" || labels["istio.io/rev"] != ""
}

// podAsksForInjection: a pod's own label asks for a sidecar, which its namespace does not forbid.
func podAsksForInjection(pod *corev1.Pod, namespaceLabels map[string]string) bool {
	if namespaceLabels["istio-injection"] == "disabled" || optedOut(pod) {
		return false
	}
	return pod.Labels["sidecar.istio.io/inject"] == "true" || pod.Labels["istio.io/rev"] != ""
}

func optedOut(pod *corev1.Pod) bool {
	return pod.Labels["sidecar.istio.io/inject"] == "false" || pod.Annotations["sidecar.istio.io/inject"] == "false"
}

func sidecars(n int) string { return count(n, "sidecar") }

// restart is the command that recreates pod: a rollout restart of the workload that owns it,
// or deleting a pod nothing owns (to create again from its manifest).
func restart(pod *corev1.Pod) string {
	for _, ref := range pod.OwnerReferences {
		switch ref.Kind {
		case "StatefulSet", "DaemonSet":
			return fmt.Sprintf("kubectl -n %s rollout restart %s/%s", pod.Namespace, strings.ToLower(ref.Kind), ref.Name)
		case "ReplicaSet":
			// A Deployment names its ReplicaSets NAME-HASH, HASH being the pod-template-hash label.
			if hash := pod.Labels["pod-template-hash"]; hash != "" && strings.HasSuffix(ref.Name, "-"+hash) {
				return fmt.Sprintf("kubectl -n %s rollout restart deployment/%s", pod.Namespace, strings.TrimSuffix(ref.Name, "-"+hash))
			}
		}
	}
	return fmt.Sprintf("kubectl -n %s delete pod %s, and create it again from its manifest", pod.Namespace, pod.Name)
}
