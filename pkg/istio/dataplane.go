package istio

import corev1 "k8s.io/api/core/v1"

// ProxyContainer is the name of the sidecar container Istio injects.
const ProxyContainer = "istio-proxy"

// HasSidecar reports whether pod runs Envoy beside its containers: an istio-proxy container,
// or a native sidecar (an istio-proxy init container that keeps running).
func HasSidecar(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == ProxyContainer {
			return true
		}
	}
	return HasNativeSidecar(pod)
}

// HasNativeSidecar reports whether pod's Envoy is a native sidecar: an istio-proxy init
// container that keeps running, started before the app's and stopped after them.
func HasNativeSidecar(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == ProxyContainer && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return true
		}
	}
	return false
}
