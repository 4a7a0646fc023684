package why

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// In a multi-primary mesh each cluster's istiod reads its own cluster's config. A request is
// routed by the caller's cluster (its VirtualServices, HTTPRoutes, DestinationRules), lands on
// the destination's pods in any cluster (a Service's endpoints merge across clusters), and is
// decided there by that cluster's PeerAuthentications and AuthorizationPolicies.

// ClusterRef names a cluster: the ID Istio knows it by, and its kubeconfig context.
type ClusterRef struct {
	ID      string `json:"id"`
	Context string `json:"context"`
}

// Name is how people read a cluster: its ID and, when it differs, its context.
func (c ClusterRef) Name() string { return istio.Cluster{ID: c.ID, Context: c.Context}.Label() }

// ClusterInput is one cluster's objects for the request, and which ends it holds.
type ClusterInput struct {
	ClusterRef
	Input Input
	// NoSource and NoDestination say why the cluster does not hold an end; "" when it does.
	NoSource, NoDestination string
}

// Path is one way the request goes: from its caller in From, by From's routes, to the
// destination's pods in To, whose policies decide.
type Path struct {
	From ClusterRef `json:"from"`
	// AlsoFrom are other callers' clusters whose request goes the same way, step for step.
	AlsoFrom []ClusterRef `json:"alsoFrom,omitempty"`
	To       ClusterRef   `json:"to"`
	Report   Report       `json:"report"`
}

// Where names the path for people: one cluster, or the caller's and the destination's.
func (p Path) Where() string {
	switch {
	case p.From == p.To:
		return "in " + p.To.ID // its callers from other clusters (AlsoFrom) alike
	case len(p.AlsoFrom) > 0:
		return fmt.Sprintf("in %s (callers in %s)", p.To.ID, strings.Join(p.callers(false), " and "))
	}
	return fmt.Sprintf("from %s to %s", p.From.ID, p.To.ID)
}

// callers are the clusters of the path's callers, by ID, or (named) by ID and context.
func (p Path) callers(named bool) []string {
	name := func(c ClusterRef) string {
		if named {
			return c.Name()
		}
		return c.ID
	}
	out := []string{name(p.From)}
	for _, c := range p.AlsoFrom {
		out = append(out, name(c))
	}
	return out
}

// heading names the path's clusters with their contexts.
func (p Path) heading() string {
	switch {
	case p.From == p.To && len(p.AlsoFrom) == 0:
		return "cluster " + p.To.Name()
	case p.From == p.To:
		return fmt.Sprintf("cluster %s, callers in %s alike", p.To.Name(), strings.Join(p.callers(false), " and "))
	}
	return fmt.Sprintf("served in cluster %s, caller in %s", p.To.Name(), strings.Join(p.callers(true), " and "))
}

// addPath adds p, or merges it into a path to the same cluster that goes the same way.
func addPath(paths []Path, p Path) []Path {
	for i, q := range paths {
		if q.To == p.To && reflect.DeepEqual(q.Report, p.Report) {
			paths[i].AlsoFrom = append(paths[i].AlsoFrom, p.From)
			return paths
		}
	}
	return append(paths, p)
}

// ClustersReport is the request explained over the clusters of a mesh.
type ClustersReport struct {
	Paths []Path `json:"paths"`
	// Differ: the paths do not all end in the same verdict; Differences say how, and which
	// policy or route one cluster lacks.
	Differ      bool     `json:"differ"`
	Differences []string `json:"differences"`
	// Notes say which clusters hold neither end, or a caller but not the Service it calls.
	Notes []string `json:"notes"`
}

// ExplainClusters follows the request along every path it may take: from each cluster that
// runs the caller, by that cluster's routes, to each cluster that runs pods of the
// destination, by that cluster's policies. A caller outside the mesh (or a --principal) is
// taken in each cluster alone. No path: neither end is in a common mesh of the clusters.
func ExplainClusters(clusters []ClusterInput) ClustersReport {
	r := ClustersReport{Paths: []Path{}, Differences: []string{}, Notes: []string{}}
	var sources, destinations, served []ClusterInput
	for _, c := range clusters {
		if c.NoSource == "" {
			sources = append(sources, c)
		}
		if c.NoDestination == "" {
			destinations = append(destinations, c)
			if hasDestinationPods(c.Input) {
				served = append(served, c)
			}
		}
		if c.NoSource != "" && c.NoDestination != "" {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %s; %s", c.Name(), c.NoSource, c.NoDestination))
		}
	}
	if len(served) > 0 {
		// A cluster without ready pods of the destination sends its requests to the others'.
		for _, d := range destinations {
			if !slices.ContainsFunc(served, func(c ClusterInput) bool { return c.ClusterRef == d.ClusterRef }) {
				r.Notes = append(r.Notes, fmt.Sprintf("%s runs no ready pod of the destination: its callers' requests are served in the other clusters", d.Name()))
			}
		}
		destinations = served
	}
	for _, s := range sources {
		if s.NoDestination != "" && s.Input.Service == nil && len(served) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s runs the caller but %s: Istio needs the destination's Service in the caller's cluster to route to it", s.Name(), s.NoDestination))
		}
	}
	for _, d := range destinations {
		elsewhere := elsewherePods(served, d)
		// The destination's own cluster first: its callers' way is the one to compare with.
		for _, s := range append([]ClusterInput{d}, sources...) {
			if s.NoSource != "" || s.ClusterRef == d.ClusterRef && len(r.Paths) > 0 && r.Paths[len(r.Paths)-1].To == d.ClusterRef {
				continue
			}
			if p, ok := explainPath(s, d, elsewhere); ok {
				r.Paths = addPath(r.Paths, p)
			}
		}
	}
	if d := differences(r.Paths, clusters); len(d) > 0 {
		r.Differences, r.Differ = d, true
	}
	return r
}

// explainPath is the request from s's caller, by s's routes, to d's pods and policies; false
// when it does not go that way (a caller with no pods enters each cluster alone; a path
// whose every version is served by other clusters).
func explainPath(s, d ClusterInput, elsewhere []corev1.Pod) (Path, bool) {
	in := d.Input
	if s.ClusterRef != d.ClusterRef {
		if len(s.Input.Source.Pods) == 0 || s.NoDestination != "" {
			return Path{}, false
		}
		in.Source = s.Input.Source
		in.VirtualServices, in.Routes, in.DestinationRules = s.Input.VirtualServices, s.Input.Routes, s.Input.DestinationRules
	}
	in.ElsewherePods = elsewhere
	report := Explain(in)
	return Path{From: s.ClusterRef, To: d.ClusterRef, Report: report}, report.Verdict != ""
}

// hasDestinationPods: some ready pod here is the destination's (the Service selects it, or it
// is the destination workload's): Istio sends the destination's requests only to ready pods.
func hasDestinationPods(in Input) bool {
	pods := in.WorkloadPods
	if in.Service != nil {
		if len(in.Service.Spec.Selector) == 0 {
			return false
		}
		selector := labels.SelectorFromSet(in.Service.Spec.Selector)
		pods = slices.DeleteFunc(slices.Clone(in.Pods), func(p corev1.Pod) bool { return !selector.Matches(labels.Set(p.Labels)) })
	}
	return slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.DeletionTimestamp == nil && podutils.IsPodReady(&p) })
}

// elsewherePods are the destination's pods in the clusters of served other than d.
func elsewherePods(served []ClusterInput, d ClusterInput) []corev1.Pod {
	var out []corev1.Pod
	for _, c := range served {
		if c.ClusterRef == d.ClusterRef {
			continue
		}
		if c.Input.Service != nil {
			out = append(out, c.Input.Pods...)
		} else {
			out = append(out, c.Input.WorkloadPods...)
		}
	}
	return out
}

// differences say where the paths' verdicts differ, and why where it can tell: a policy that
// decides in one cluster and is missing from the other, a policy that differs, or routes.
func differences(paths []Path, clusters []ClusterInput) []string {
	var firsts []Path // the first path of each verdict
	for _, p := range paths {
		if !slices.ContainsFunc(firsts, func(f Path) bool { return outcomeOf(f.Report) == outcomeOf(p.Report) }) {
			firsts = append(firsts, p)
		}
	}
	if len(firsts) < 2 {
		return nil
	}
	var groups []string
	for _, f := range firsts {
		var where []string
		for _, p := range paths {
			if outcomeOf(p.Report) == outcomeOf(f.Report) {
				where = append(where, p.Where())
			}
		}
		groups = append(groups, outcomeOf(f.Report)+" "+strings.Join(where, ", "))
	}
	out := []string{strings.Join(groups, "; ")}
	for i, a := range firsts {
		for _, b := range firsts[i+1:] {
			out = append(out, because(a, b, clusters)...)
		}
	}
	return out
}

// outcomeOf is a verdict with what the caller gets when it is not served.
func outcomeOf(r Report) string {
	if r.Verdict == Allowed {
		return Allowed
	}
	if r.Verdict == Unroutable {
		return fmt.Sprintf("not routable (%s)", r.Response)
	}
	if r.EnforcedAt != "" {
		return fmt.Sprintf("%s (%s at the %s)", r.Verdict, r.Response, r.EnforcedAt)
	}
	return fmt.Sprintf("%s (%s)", r.Verdict, r.Response)
}

// because says why two paths end differently, where a policy or the routes tell: a policy
// that decides one and that the other's cluster lacks or holds otherwise, else the routes of
// the callers' clusters, else both verdicts.
func because(a, b Path, clusters []ClusterInput) []string {
	var out []string
	for _, pair := range [][2]Path{{a, b}, {b, a}} {
		x, y := pair[0], pair[1]
		by := x.Report.DecidedBy
		if by == nil || x.To == y.To {
			continue
		}
		mine, theirs := policyIn(inputOf(clusters, x.To), by), policyIn(inputOf(clusters, y.To), by)
		name := fmt.Sprintf("%s %s/%s", by.Kind, by.Namespace, by.Name)
		switch {
		case theirs == nil:
			out = append(out, fmt.Sprintf("%s lacks %s, which decides %s (%s)", y.To.ID, name, x.Where(), outcomeOf(x.Report)))
		case mine != nil && !reflect.DeepEqual(mine.Object["spec"], theirs.Object["spec"]):
			out = append(out, fmt.Sprintf("%s differs between %s and %s", name, x.To.ID, y.To.ID))
		}
	}
	if len(out) == 0 && a.From != b.From {
		if ra, rb := stepOf(a.Report, "route"), stepOf(b.Report, "route"); ra != rb {
			out = append(out, fmt.Sprintf("the callers' clusters route it differently: %s: %s; %s: %s", a.From.ID, ra, b.From.ID, rb))
		}
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("%s: %s; %s: %s", a.Where(), verdictText(a.Report), b.Where(), verdictText(b.Report)))
	}
	return out
}

func inputOf(clusters []ClusterInput, c ClusterRef) Input {
	for _, in := range clusters {
		if in.ClusterRef == c {
			return in.Input
		}
	}
	return Input{}
}

// policyIn is the policy ref names among in's, nil when in lacks it.
func policyIn(in Input, ref *PolicyRef) *unstructured.Unstructured {
	list := in.AuthorizationPolicies
	if ref.Kind == "PeerAuthentication" {
		list = in.PeerAuthentications
	}
	for _, p := range list {
		if p.GetNamespace() == ref.Namespace && p.GetName() == ref.Name {
			return p
		}
	}
	return nil
}

// stepOf is the object and detail of a report's step, "" when it has none.
func stepOf(r Report, step string) string {
	for _, s := range r.Steps {
		if s.Step == step {
			return strings.TrimSpace(s.Object + " " + s.Detail)
		}
	}
	return ""
}

// WriteClustersText prints each path's explanation under a heading naming its clusters, then
// whether the verdicts agree, and why not.
func WriteClustersText(out io.Writer, r ClustersReport, req Request) error {
	for _, p := range r.Paths {
		fmt.Fprintf(out, "=== %s ===\n", p.heading())
		if err := WriteText(out, p.Report, req); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	switch {
	case r.Differ:
		fmt.Fprintf(out, "the clusters differ: %s\n", r.Differences[0])
		for _, d := range r.Differences[1:] {
			fmt.Fprintf(out, "  because %s\n", d)
		}
	case len(r.Paths) > 1:
		fmt.Fprintf(out, "every cluster agrees: %s\n", outcomeOf(r.Paths[0].Report))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	_, err := fmt.Fprintln(out, "not modelled: locality and failover weights between clusters, east-west gateways, multi-network addresses, ambient waypoints across clusters (the destination cluster's is taken); each path is judged by its clusters' objects alone")
	return err
}

// ResolveEnds is Resolve for one cluster of several: an end the cluster does not hold is said
// (noSource, noDestination), not an error.
func ResolveEnds(in *Input, src, dst Ref, srcPods []corev1.Pod, srcLabels map[string]string) (noSource, noDestination string) {
	if resolveDestination(in, dst) != nil {
		noDestination = fmt.Sprintf("no Service and no running workload %s in namespace %s", dst.Name, dst.Namespace)
	}
	in.Source = Source{Name: src.Name, Namespace: src.Namespace, Outside: src.Outside, Principal: src.Principal, RequestPrincipal: src.RequestPrincipal, NamespaceLabels: srcLabels}
	if src.Outside || src.Principal != "" {
		return "", noDestination
	}
	if in.Source.Pods = workloadPods(srcPods, src); len(in.Source.Pods) == 0 {
		noSource = fmt.Sprintf("no running pod of %s in namespace %s", src.Name, src.Namespace)
	}
	return noSource, noDestination
}
