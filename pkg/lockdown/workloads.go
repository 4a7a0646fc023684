// Package lockdown plans STRICT mTLS and default-deny authorization for a namespace, and the
// undo of it. Planning is pure: cluster objects in, the writes to make out.
package lockdown

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Workload is a set of pods that one AuthorizationPolicy selector covers and that every
// policy decision treats alike: pods sharing an app label (key and value) and, where present,
// a version label; split further when some of them carry labels that a Service, a Gateway or
// a policy selects and the others do not (a track: green beside a track: blue).
type Workload struct {
	// Name is app-version, or app; the distinguishing values appended when split. It is unique
	// among the namespace's workloads, also once made an object name (see uniqueNames).
	Name     string
	Selector map[string]string // the labels an AuthorizationPolicy selects it by
	Pods     []string
	// ServiceAccounts the pods run as, for principals.
	ServiceAccounts []string
	// Overlaps names sibling workloads its selector also picks: nothing in their labels sets
	// them apart from this one's (matchLabels cannot say "without track").
	Overlaps []string
	// Dataplane is how its pods take part in the mesh: sidecar, ambient, or none.
	Dataplane string
	// labels are a pod's labels: every pod of the workload answers the selectors that decide
	// anything (those given to workloadsOf) alike.
	labels    map[string]string
	podLabels []map[string]string // every pod's
}

// appLabels and versionLabels name a workload, in order of preference: Istio's own
// conventions first, then the Kubernetes recommended labels; the pods Istio deploys for a
// Gateway API Gateway carry the gateway's name alone.
var (
	appLabels     = []string{"app", "app.kubernetes.io/name", istio.GatewayNameLabel}
	versionLabels = []string{"version", "app.kubernetes.io/version"}
)

// workloadsOf groups running pods into workloads, deciding per pod: pods of one app and
// version whose labels the given selectors (of Services, Gateways, policies) answer
// differently, or that are on different data planes, become separate workloads. Pods with no
// app label are returned apart; waypoints, which Istio runs for the namespace, are left out.
func workloadsOf(pods []corev1.Pod, selectors []map[string]string, namespaceLabels map[string]string) (workloads []*Workload, unnamed []string) {
	type group struct {
		base      map[string]string
		name      string
		dataplane string
		pods      []*corev1.Pod
	}
	var order []string
	// By app (and version) selector, never by name: app=api,version=v1 and app=api-v1 are
	// both named api-v1 and are different pods. Then by how the selectors answer.
	groups := map[string][]*group{}
	signatures := map[*group]string{}
	for i := range pods {
		pod := &pods[i]
		if isFinished(*pod) || istio.IsWaypointPod(pod) {
			continue
		}
		base, name := baseSelector(pod.Labels)
		if name == "" {
			unnamed = append(unnamed, pod.Name)
			continue
		}
		key := formatSelector(base)
		dataplane := istio.Dataplane(pod, namespaceLabels)
		sig := dataplane + signature(pod.Labels, selectors)
		var g *group
		for _, candidate := range groups[key] {
			if signatures[candidate] == sig {
				g = candidate
			}
		}
		if g == nil {
			if len(groups[key]) == 0 {
				order = append(order, key)
			}
			g = &group{base: base, name: name, dataplane: dataplane}
			signatures[g] = sig
			groups[key] = append(groups[key], g)
		}
		g.pods = append(g.pods, pod)
	}
	// Only the keys selectors ask about can set pods apart: never pod-template-hash and the like.
	selectorKeys := map[string]bool{}
	for _, s := range selectors {
		for k := range s {
			selectorKeys[k] = true
		}
	}
	for _, key := range order {
		siblings := make([][]*corev1.Pod, len(groups[key]))
		for i, g := range groups[key] {
			siblings[i] = g.pods
		}
		keys := distinguishingKeys(siblings, selectorKeys)
		for i, g := range groups[key] {
			w := newWorkload(g.name, g.base, siblings[i], keys)
			w.Dataplane = g.dataplane
			workloads = append(workloads, w)
		}
	}
	uniqueNames(workloads)
	markOverlaps(workloads)
	sort.Slice(workloads, func(i, j int) bool { return workloads[i].Name < workloads[j].Name })
	return workloads, unnamed
}

// baseSelector is the app (and version) selector of a pod, and the workload name it gives.
func baseSelector(labels map[string]string) (map[string]string, string) {
	selector := map[string]string{}
	name := ""
	for _, key := range appLabels {
		if v := labels[key]; v != "" {
			selector[key], name = v, v
			break
		}
	}
	if name == "" {
		return nil, ""
	}
	for _, key := range versionLabels {
		if v := labels[key]; v != "" {
			selector[key] = v
			name += "-" + v
			break
		}
	}
	return selector, name
}

// signature is how the selectors answer a pod's labels, one bit each.
func signature(labels map[string]string, selectors []map[string]string) string {
	b := make([]byte, len(selectors))
	for i, s := range selectors {
		b[i] = '0'
		if len(s) > 0 && istio.SelectorMatches(s, labels) {
			b[i] = '1'
		}
	}
	return string(b)
}

// newWorkload makes a workload of pods, one group of an app and version: its selector is the
// app and version, plus, when the app and version were split, the distinguishing keys with
// the value all its pods share.
func newWorkload(name string, base map[string]string, pods []*corev1.Pod, distinguishing []string) *Workload {
	w := &Workload{Name: name, Selector: maps.Clone(base), labels: pods[0].Labels}
	common := commonLabels(pods)
	var values []string
	for _, key := range distinguishing {
		if v, ok := common[key]; ok {
			w.Selector[key] = v
			values = append(values, v)
		}
	}
	if len(values) > 0 {
		w.Name += "-" + strings.Join(values, "-")
	}
	for _, pod := range pods {
		w.podLabels = append(w.podLabels, pod.Labels)
		w.Pods = append(w.Pods, pod.Name)
		sa := pod.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		if !slices.Contains(w.ServiceAccounts, sa) {
			w.ServiceAccounts = append(w.ServiceAccounts, sa)
		}
	}
	return w
}

// commonLabels are the labels every pod carries with the same value.
func commonLabels(pods []*corev1.Pod) map[string]string {
	common := maps.Clone(pods[0].Labels)
	for _, pod := range pods[1:] {
		for k, v := range common {
			if pod.Labels[k] != v {
				delete(common, k)
			}
		}
	}
	return common
}

// distinguishingKeys are the candidate label keys, sorted, whose common values differ between
// groups (or that some group does not share). A single group needs none.
func distinguishingKeys(groups [][]*corev1.Pod, candidates map[string]bool) []string {
	if len(groups) < 2 {
		return nil
	}
	commons := make([]map[string]string, len(groups))
	for i, g := range groups {
		commons[i] = commonLabels(g)
	}
	var out []string
	for k := range candidates {
		for _, c := range commons[1:] {
			v, ok := c[k]
			if first, ok0 := commons[0][k]; !ok || !ok0 || v != first {
				out = append(out, k)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// markOverlaps notes, per workload, the other workloads with pods its selector also picks:
// siblings of a split, and an app without a version beside the same app with one.
func markOverlaps(workloads []*Workload) {
	for _, w := range workloads {
		for _, other := range workloads {
			if other != w && slices.ContainsFunc(other.podLabels, func(l map[string]string) bool {
				return istio.SelectorMatches(w.Selector, l)
			}) {
				w.Overlaps = append(w.Overlaps, other.Name)
			}
		}
	}
}

func isFinished(pod corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// podsOutsideMesh lists the running pods that cannot take part in mTLS: no sidecar, and not
// enrolled in ambient mode.
func podsOutsideMesh(pods []corev1.Pod, namespaceLabels map[string]string) []string {
	var names []string
	for _, pod := range pods {
		if !isFinished(pod) && istio.Dataplane(&pod, namespaceLabels) == istio.DataplaneNone {
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

// OutsideMesh names the running workloads that are not in the mesh, with neither a sidecar
// nor ambient mode (namespace/app, or the pod's name without an app label), skipping the
// control plane's own namespace. namespaceLabels are every namespace's, by name.
func OutsideMesh(pods []corev1.Pod, namespaceLabels map[string]map[string]string, rootNamespace string) []string {
	seen := map[string]bool{}
	var out []string
	for _, pod := range pods {
		if isFinished(pod) || istio.Dataplane(&pod, namespaceLabels[pod.Namespace]) != istio.DataplaneNone || pod.Namespace == rootNamespace || pod.Namespace == "kube-system" {
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
