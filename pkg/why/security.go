package why

import (
	"fmt"
	"strings"

	apinetworking "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// principal is the caller's mTLS identity: a --principal, its pods' service account, or none
// (outside the mesh, or pods without a sidecar or ambient).
func (in Input) principal() string {
	s := in.Source
	switch {
	case s.Outside:
		return ""
	case s.Principal != "":
		return s.Principal
	case len(s.Pods) == 0 || istio.Dataplane(&s.Pods[0], s.NamespaceLabels) == istio.DataplaneNone:
		return ""
	}
	sa := s.Pods[0].Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	return in.Mesh.Principal(s.Namespace, sa)
}

// waypointOf is the waypoint that carries requests to pod, if any: the one its Service (or
// the pod itself, or its namespace) uses, which must exist as a Gateway of class
// istio-waypoint. Its principal is what the pod's ztunnel sees.
func (in Input) waypointOf(pod *corev1.Pod) (ref, principal string, step *Step) {
	if !istio.InAmbient(pod, in.NamespaceLabels) {
		return "", "", nil
	}
	// The Service's waypoint carries requests to the Service; the pod's (or, for a request
	// addressed to the pod, its namespace's) carries workload traffic. istiod binds either only
	// where the waypoint takes that kind of traffic from this namespace.
	type candidate struct {
		kind, name string
		labels     map[string]string
	}
	candidates := []candidate{{istio.TrafficWorkload, pod.Name, pod.Labels}}
	if in.Service != nil {
		candidates = []candidate{{istio.TrafficService, in.Service.Name, in.Service.Labels}}
	}
	var notes []string
	for _, c := range candidates {
		uses, ok := istio.UseWaypoint(kindWord(c.kind), c.name, in.Namespace, c.labels, in.NamespaceLabels)
		if !ok {
			continue
		}
		gw := findGateway(in, uses)
		if gw == nil {
			notes = append(notes, fmt.Sprintf("%s uses waypoint %s/%s, which does not exist as a Gateway of class %s", uses.From, uses.Namespace, uses.Name, istio.GatewayClassWaypoint))
			continue
		}
		if carries, why := istio.WaypointCarries(gw, nil, c.kind, c.name, in.Namespace, in.NamespaceLabels); !carries {
			notes = append(notes, fmt.Sprintf("%s uses waypoint %s/%s, but istiod does not bind it: %s", uses.From, uses.Namespace, uses.Name, why))
			continue
		}
		ref = uses.Namespace + "/" + uses.Name
		principal = in.Mesh.Principal(uses.Namespace, istio.GatewayDeploymentName(gw))
		return ref, principal, &Step{Step: "waypoint", Object: "gateway " + ref, Detail: fmt.Sprintf("%s uses it: it applies L7 policy, and %s's ztunnel sees its identity %s", uses.From, pod.Name, principal)}
	}
	detail := "none: ztunnel carries the request at L4 (no HTTP routing or L7 policy)"
	if len(notes) > 0 {
		detail = strings.Join(notes, "; ") + ": ztunnel carries the request at L4"
	}
	return "", "", &Step{Step: "waypoint", Detail: detail}
}

func kindWord(traffic string) string {
	if traffic == istio.TrafficService {
		return "Service"
	}
	return "Pod"
}

func findGateway(in Input, ref istio.WaypointRef) *unstructured.Unstructured {
	for _, gw := range in.Waypoints {
		if gw.GetNamespace() == ref.Namespace && gw.GetName() == ref.Name {
			return gw
		}
	}
	return nil
}

// mutualTLS says how the caller connects and whether the destination accepts it: plaintext
// to a STRICT destination is refused before any policy is read.
func (in Input) mutualTLS(pod *corev1.Pod) (bool, *outcome, Step) {
	mode := istio.EffectiveMTLS(in.PeerAuthentications, in.Mesh.RootNamespace, in.Namespace, pod.Labels)
	effective := mode.Mode
	if m, ok := mode.Ports[uint32(in.Request.Port)]; ok {
		effective = m
	}
	mtls, how := in.callerTLS()
	step := Step{Step: "mtls", Object: mode.Source(), Detail: fmt.Sprintf("the caller sends %s; %s accepts %s", how, pod.Name, acceptsWhat(effective))}
	if mtls || effective != istio.ModeStrict {
		return mtls, nil, step
	}
	step.Detail += ": plaintext is refused"
	o := &outcome{verdict: Denied, response: "connection reset", at: atOf(pod, in.NamespaceLabels)}
	if mode.Policy != nil {
		o.decided = &PolicyRef{Kind: "PeerAuthentication", Namespace: mode.Policy.GetNamespace(), Name: mode.Policy.GetName()}
	}
	return false, o, step
}

func acceptsWhat(mode string) string {
	switch mode {
	case istio.ModeStrict:
		return "mTLS only (STRICT)"
	case istio.ModeDisable:
		return "plaintext only (DISABLE)"
	}
	return "both (PERMISSIVE)"
}

// callerTLS: a caller in the mesh sends Istio mTLS (auto mTLS) unless a DestinationRule for
// the host sets its own tls mode; a caller outside the mesh sends plaintext.
func (in Input) callerTLS() (bool, string) {
	if in.principal() == "" {
		return false, "plaintext (no mesh identity)"
	}
	if in.Service != nil {
		svc := istio.Service{Name: in.Service.Name, Namespace: in.Service.Namespace}
		for _, dr := range in.DestinationRules {
			tls := dr.Spec.GetTrafficPolicy().GetTls()
			if tls == nil || !istio.HostNamesService(dr.Spec.GetHost(), dr.Namespace, svc) {
				continue
			}
			if tls.GetMode() != apinetworking.ClientTLSSettings_ISTIO_MUTUAL {
				return false, fmt.Sprintf("%s (destinationrule %s/%s sets tls mode %s)", "no Istio mTLS", dr.Namespace, dr.Name, tls.GetMode())
			}
		}
	}
	return true, "mTLS as " + in.principal()
}

func atOf(pod *corev1.Pod, namespaceLabels map[string]string) string {
	switch istio.Dataplane(pod, namespaceLabels) {
	case istio.DataplaneAmbient:
		return istio.AtZtunnel
	case istio.DataplaneSidecar:
		if istio.IsGatewayPod(pod) {
			return istio.AtGateway
		}
		return istio.AtSidecar
	}
	return ""
}

// authorize decides the request at every hop that enforces policy for pod.
func (in Input) authorize(pod *corev1.Pod, mtls bool, waypoint, waypointPrincipal string) (outcome, []Step) {
	service := ""
	if in.Service != nil {
		service = in.Namespace + "/" + in.Service.Name
	}
	hops := istio.Hops(pod, in.NamespaceLabels, service, waypoint)
	a := istio.Authorizer{Policies: in.AuthorizationPolicies, RootNamespace: in.Mesh.RootNamespace}
	req := istio.Request{Method: in.Request.Method, Path: in.Request.Path, Port: in.Request.Port, RequestPrincipal: in.Source.RequestPrincipal}
	if mtls {
		req.Principal = in.principal()
	}
	pd := a.DecidePath(hops, req, waypointPrincipal)
	var steps []Step
	for i, h := range hops {
		if i >= len(pd.Hops) {
			break
		}
		d := pd.Hops[i]
		where := hopName(h, pod)
		detail := d.Reason + l7Note(a, h)
		if trial := a.DryRunVerdicts(h.Point, req); len(trial) > 0 {
			detail += "; not enforced: " + strings.Join(trial, "; ")
		}
		steps = append(steps, Step{Step: "authorization", Object: where, Detail: detail})
	}
	o := outcome{verdict: Allowed, response: "200", at: pd.Hop.Point.At, applied: pd.AllowPolicies}
	if len(hops) == 0 {
		steps = append(steps, Step{Step: "authorization", Detail: "no proxy enforces policy for " + pod.Name})
		return o, steps
	}
	switch pd.Allowed {
	case istio.No:
		o.verdict, o.response = Denied, "403"
		if pd.Hop.Point.At == istio.AtZtunnel {
			o.response = "connection reset"
		}
	case istio.Maybe:
		o.verdict, o.response, o.partial = Denied, "403 for some requests", true
	}
	o.decided, o.matched = decidedBy(pd.Decision)
	return o, steps
}

// decidedBy names the rule that decides: the DENY that matches, else the ALLOW that admits;
// none when no policy applies or no ALLOW rule matches.
func decidedBy(d istio.Decision) (*PolicyRef, []string) {
	rules := d.Allowing
	if d.Allowed != istio.Yes {
		rules = d.Denying
	}
	matched := []string{}
	var ref *PolicyRef
	for _, r := range rules {
		matched = append(matched, r.String())
		if ref == nil && r.Match == istio.Yes {
			namespace, name, _ := strings.Cut(r.Policy, "/")
			index := r.Index
			ref = &PolicyRef{Kind: "AuthorizationPolicy", Namespace: namespace, Name: name, Rule: &index}
		}
	}
	return ref, matched
}

func hopName(h istio.Hop, pod *corev1.Pod) string {
	switch h.Point.At {
	case istio.AtWaypoint:
		return "waypoint " + h.Point.Gateway
	case istio.AtZtunnel:
		return "ztunnel of " + pod.Name
	case istio.AtGateway:
		return "gateway " + pod.Name
	}
	return "sidecar of " + pod.Name
}

// l7Note flags policies enforced at ztunnel that carry HTTP fields ztunnel cannot read.
func l7Note(a istio.Authorizer, h istio.Hop) string {
	if h.Point.At != istio.AtZtunnel {
		return ""
	}
	var notes []string
	for _, ap := range a.Applicable(h.Point) {
		if fields := istio.L7Fields(ap); len(fields) > 0 {
			notes = append(notes, fmt.Sprintf("%s/%s uses %s, which ztunnel cannot read (its ALLOW rules never match, its DENY rules match without them)", ap.GetNamespace(), ap.GetName(), strings.Join(fields, ", ")))
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}
