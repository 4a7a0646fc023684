// Package lockdown plans STRICT mTLS and default-deny authorization for a namespace, and the
// undo of it. Planning is pure: cluster objects in, the writes to make out.
package lockdown

import (
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Workload is a set of pods that one AuthorizationPolicy selector covers: pods sharing an app
// label value and, where present, a version label value.
type Workload struct {
	Name     string            // app-version, or app
	Selector map[string]string // the labels an AuthorizationPolicy selects it by
	Pods     []string
	// ServiceAccounts the pods run as, for principals.
	ServiceAccounts []string
	labels          map[string]string // of its first pod, to match Service and Gateway selectors
}

// appLabels and versionLabels name a workload, in order of preference: Istio's own
// conventions first, then the Kubernetes recommended labels.
var (
	appLabels     = []string{"app", "app.kubernetes.io/name"}
	versionLabels = []string{"version", "app.kubernetes.io/version"}
)

// workloadsOf groups running pods into workloads; pods with no app label are returned apart.
func workloadsOf(pods []corev1.Pod) (workloads []*Workload, unnamed []string) {
	byName := map[string]*Workload{}
	for _, pod := range pods {
		if isFinished(pod) {
			continue
		}
		selector := map[string]string{}
		name := ""
		for _, key := range appLabels {
			if v := pod.Labels[key]; v != "" {
				selector[key], name = v, v
				break
			}
		}
		if name == "" {
			unnamed = append(unnamed, pod.Name)
			continue
		}
		for _, key := range versionLabels {
			if v := pod.Labels[key]; v != "" {
				selector[key] = v
				name += "-" + v
				break
			}
		}
		w, ok := byName[name]
		if !ok {
			w = &Workload{Name: name, Selector: selector, labels: pod.Labels}
			byName[name] = w
			workloads = append(workloads, w)
		}
		w.Pods = append(w.Pods, pod.Name)
		sa := pod.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		if !contains(w.ServiceAccounts, sa) {
			w.ServiceAccounts = append(w.ServiceAccounts, sa)
		}
	}
	sort.Slice(workloads, func(i, j int) bool { return workloads[i].Name < workloads[j].Name })
	return workloads, unnamed
}

func isFinished(pod corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// podsWithoutSidecar lists the running pods that cannot take part in mTLS.
func podsWithoutSidecar(pods []corev1.Pod) []string {
	var names []string
	for _, pod := range pods {
		if !isFinished(pod) && !istio.HasSidecar(&pod) {
			names = append(names, pod.Name)
		}
	}
	sort.Strings(names)
	return names
}

var invalidNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// objectName makes a DNS-1123 name from parts (label values may hold dots, underscores and
// capitals).
func objectName(parts ...string) string {
	name := invalidNameChars.ReplaceAllString(strings.ToLower(strings.Join(parts, "-")), "-")
	name = strings.Trim(name, "-")
	if len(name) > 253 {
		name = strings.TrimRight(name[:253], "-")
	}
	return name
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// OutsideMesh names the running workloads without a sidecar (namespace/app, or the pod's name
// without an app label), skipping the control plane's own namespace.
func OutsideMesh(pods []corev1.Pod, rootNamespace string) []string {
	seen := map[string]bool{}
	var out []string
	for _, pod := range pods {
		if isFinished(pod) || istio.HasSidecar(&pod) || pod.Namespace == rootNamespace || pod.Namespace == "kube-system" {
			continue
		}
		name := pod.Name
		for _, key := range appLabels {
			if v := pod.Labels[key]; v != "" {
				name = v
				break
			}
		}
		if id := pod.Namespace + "/" + name; !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
