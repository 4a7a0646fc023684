package why

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// outcome is what happens to the requests one target receives.
type outcome struct {
	target   target
	verdict  string
	response string
	decided  *PolicyRef
	at       string
	applied  []string
	matched  []string
	partial  bool
}

// Explain follows the request from the caller to the destination's pods, as Istio would.
func Explain(in Input) Report {
	r := Report{Source: describeSource(in), Destination: describeDestination(in), Matched: []string{}}
	r.Steps = append(r.Steps, sourceStep(in, r.Source))
	targets := []target{{Name: r.Destination.Name, Weight: 1}}
	if in.Service != nil {
		rt := route(in)
		r.Steps = append(r.Steps, rt.step)
		if rt.noRoute {
			r.Verdict, r.Response = Unroutable, "404 NR"
			if strings.Contains(rt.step.Detail, "Istio answers 500") {
				r.Response = "500"
			}
			return r
		}
		targets = rt.targets
	}
	var outcomes []outcome
	for _, t := range targets {
		if t.Weight <= 0 && len(targets) > 1 {
			continue
		}
		o, steps := in.follow(t)
		r.Steps = append(r.Steps, steps...)
		outcomes = append(outcomes, o)
	}
	if len(outcomes) == 0 {
		// Every destination weighs 0: nothing is sent anywhere, and Istio answers 500.
		r.Steps = append(r.Steps, Step{Step: "version", Detail: "every destination of the route weighs 0: Istio answers 500"})
		r.Verdict, r.Response = Unroutable, "500"
		return r
	}
	r.settle(outcomes)
	return r
}

// settle takes the verdict of the worst outcome: unroutable, then denied, then allowed; when
// the targets disagree, the verdict is partial and the steps say which gets what.
func (r *Report) settle(outcomes []outcome) {
	// A version served by another cluster's pods (verdict "") is judged there.
	outcomes = slices.DeleteFunc(outcomes, func(o outcome) bool { return o.verdict == "" })
	if len(outcomes) == 0 {
		return
	}
	rank := map[string]int{Allowed: 0, Denied: 1, Unroutable: 2}
	worst := outcomes[0]
	for _, o := range outcomes[1:] {
		if rank[o.verdict] > rank[worst.verdict] {
			worst = o
		}
		if o.verdict != outcomes[0].verdict {
			r.Partial = true
		}
	}
	r.Verdict, r.Response, r.DecidedBy, r.EnforcedAt = worst.verdict, worst.response, worst.decided, worst.at
	r.Applied, r.Partial = worst.applied, r.Partial || worst.partial
	if worst.matched != nil {
		r.Matched = worst.matched
	}
}

// follow takes the requests of one target from its pods to a verdict.
func (in Input) follow(t target) (outcome, []Step) {
	o := outcome{target: t}
	var steps []Step
	if t.Missing != "" {
		o.verdict, o.response = Unroutable, "503 "+t.Flag
		if t.Flag == "" {
			o.response = "503"
		}
		return o, []Step{{Step: "version", Object: t.Name, Detail: t.Missing + ": " + o.response}}
	}
	pods, ready := in.podsOf(t)
	if ready == nil && in.servedElsewhere(t) {
		return o, []Step{{Step: "version", Object: t.Name, Detail: "no ready pod in this cluster: served by the other clusters' pods"}}
	}
	if ready == nil {
		o.verdict, o.response = Unroutable, "503 UH"
		return o, []Step{{Step: "version", Object: t.Name, Detail: fmt.Sprintf("%s, none ready: Envoy answers 503 (UH, no healthy upstream)", podCount(len(pods)))}}
	}
	steps = append(steps, Step{Step: "version", Object: t.Name, Detail: fmt.Sprintf("%d of %s ready (%s)", readyCount(pods), podCount(len(pods)), istio.Dataplane(ready, in.NamespaceLabels))})
	waypoint, waypointPrincipal, wstep := in.waypointOf(ready)
	if wstep != nil {
		steps = append(steps, *wstep)
	}
	mtls, refused, mstep := in.mutualTLS(ready)
	steps = append(steps, mstep)
	if refused != nil {
		return *refused, steps
	}
	authz, asteps := in.authorize(ready, mtls, waypoint, waypointPrincipal)
	authz.target = t
	return authz, append(steps, asteps...)
}

// servedElsewhere: another cluster of the mesh has a ready pod of the target.
func (in Input) servedElsewhere(t target) bool {
	if len(in.ElsewherePods) == 0 {
		return false
	}
	other := in
	other.Pods, other.WorkloadPods = in.ElsewherePods, in.ElsewherePods
	_, ready := other.podsOf(t)
	return ready != nil
}

// podsOf are the destination pods a target reaches, and one ready pod to judge by (nil: none
// is ready).
func (in Input) podsOf(t target) ([]corev1.Pod, *corev1.Pod) {
	var pods []corev1.Pod
	if in.Service == nil {
		pods = in.WorkloadPods
	} else if len(t.Service.Spec.Selector) > 0 {
		selector := labels.SelectorFromSet(t.Service.Spec.Selector)
		subset := labels.SelectorFromSet(t.Labels)
		for _, p := range in.Pods {
			if selector.Matches(labels.Set(p.Labels)) && subset.Matches(labels.Set(p.Labels)) {
				pods = append(pods, p)
			}
		}
	}
	for i := range pods {
		if pods[i].DeletionTimestamp == nil && podutils.IsPodReady(&pods[i]) {
			return pods, &pods[i]
		}
	}
	return pods, nil
}

func readyCount(pods []corev1.Pod) int {
	n := 0
	for i := range pods {
		if pods[i].DeletionTimestamp == nil && podutils.IsPodReady(&pods[i]) {
			n++
		}
	}
	return n
}

func podCount(n int) string {
	if n == 1 {
		return "1 pod"
	}
	return fmt.Sprintf("%d pods", n)
}
