package canary

import (
	"sort"
	"strconv"
	"strings"

	apinetworking "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Backend is one version of the service that a route can send traffic to: a subset of its
// DestinationRules (VirtualService), or a Service of its own (Gateway API), with what serves it.
type Backend struct {
	Name   string            // subset name, or Service name
	Labels map[string]string // the pod labels it selects (subset labels, or the Service's selector)
	// Version is its pods' version label, which a sidecar's telemetry reports as
	// destination_version (a waypoint reports the pods' canonical revision: see Plan.FigureVersion).
	Version string
	// Pods and ReadyPods count the pods (subset) or endpoints (Service) that serve it;
	// unknown (-1) when they could not be read.
	Pods, ReadyPods int
	Ports           []int32 // a Service's ports
}

// unknown marks a count that could not be read.
const unknown = -1

// portLike is the Service's port numbered want, else its first; 0 when it has none.
func (b Backend) portLike(want int64) int64 {
	for _, p := range b.Ports {
		if int64(p) == want {
			return want
		}
	}
	if len(b.Ports) > 0 {
		return int64(b.Ports[0])
	}
	return want
}

// subsetBackends lists the subsets in their order, counting the service's pods each selects.
func subsetBackends(subsets []*apinetworking.Subset, serviceSelector map[string]string, pods []corev1.Pod) []Backend {
	var servicePods []*corev1.Pod
	if len(serviceSelector) > 0 {
		sel := labels.SelectorFromSet(serviceSelector)
		for i := range pods {
			if sel.Matches(labels.Set(pods[i].Labels)) {
				servicePods = append(servicePods, &pods[i])
			}
		}
	}
	out := make([]Backend, 0, len(subsets))
	for _, s := range subsets {
		b := Backend{Name: s.Name, Labels: s.Labels, Version: s.Labels["version"]}
		sel := labels.SelectorFromSet(s.Labels)
		for _, pod := range servicePods {
			if !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			b.Pods++
			if pod.DeletionTimestamp == nil && podutils.IsPodReady(pod) {
				b.ReadyPods++
			}
		}
		out = append(out, b)
	}
	return out
}

// versionBackends are the service's version Services, as Istio's bookinfo-versions.yaml lays
// them out: Services of the namespace whose selector holds every label of the service's plus
// a version label (reviews-v1 selects app=reviews,version=v1), in version order, with their
// endpoints from the EndpointSlices.
func versionBackends(svc istio.Service, serviceSelector map[string]string, services []corev1.Service, slices []discoveryv1.EndpointSlice) []Backend {
	var out []Backend
	for _, s := range services {
		sel := s.Spec.Selector
		if s.Name == svc.Name || len(serviceSelector) == 0 || sel["version"] == "" || !istio.SelectorMatches(serviceSelector, sel) {
			continue
		}
		b := Backend{Name: s.Name, Labels: sel, Version: sel["version"]}
		for _, p := range s.Spec.Ports {
			b.Ports = append(b.Ports, p.Port)
		}
		b.Pods, b.ReadyPods = endpointsOf(s.Name, slices)
		out = append(out, b)
	}
	sort.SliceStable(out, func(i, j int) bool { return naturalLess(out[i].Version, out[j].Version, out[i].Name, out[j].Name) })
	return out
}

// endpointsOf counts a Service's endpoints and the ready ones (ready unset counts as ready, as
// the EndpointSlice API says consumers should read it).
func endpointsOf(service string, slices []discoveryv1.EndpointSlice) (total, ready int) {
	for _, slice := range slices {
		if slice.Labels[discoveryv1.LabelServiceName] != service {
			continue
		}
		for _, e := range slice.Endpoints {
			total++
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready++
			}
		}
	}
	return total, ready
}

// naturalLess orders versions so that v2 comes before v10, then by name.
func naturalLess(a, b, nameA, nameB string) bool {
	na, errA := strconv.Atoi(strings.TrimLeft(a, "v"))
	nb, errB := strconv.Atoi(strings.TrimLeft(b, "v"))
	switch {
	case errA == nil && errB == nil && na != nb:
		return na < nb
	case a != b:
		return a < b
	}
	return nameA < nameB
}

// findBackend finds a backend by its name, or (Gateway API) by its version: --canary v3
// means reviews-v3.
func findBackend(backends []Backend, name string) (Backend, bool) {
	for _, b := range backends {
		if b.Name == name {
			return b, true
		}
	}
	for _, b := range backends {
		if b.Version != "" && b.Version == name {
			return b, true
		}
	}
	return Backend{}, false
}

func backendNames(backends []Backend) []string {
	names := make([]string, len(backends))
	for i, b := range backends {
		names[i] = b.Name
	}
	return names
}
