package whatif

import (
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Replay decides every observed edge with the policies before and after the change, where
// Istio decides it (the destination's sidecar or ztunnel, the waypoint that carries its
// Service, a gateway), and keeps the edges whose verdict changes.
func Replay(c Cluster, before, after Policies, observed []Observation) Result {
	r := newReplayer(c)
	b, a := r.state(before), r.state(after)
	var out Result
	for _, o := range observed {
		targets, carried, problem := r.targets(o)
		switch {
		case carried:
			continue // the waypoint's own hop: replayed with each caller it carries
		case problem != "":
			out.Unresolved = append(out.Unresolved, problem)
			continue
		}
		out.Replayed++
		if e, changed := r.compare(o, targets, b, a); changed {
			out.Edges = append(out.Edges, e)
		}
	}
	sortEdges(out.Edges)
	slices.Sort(out.Unresolved)
	out.Unresolved = slices.Compact(out.Unresolved)
	return out
}

// state is one set of policies, ready to decide.
type state struct {
	authz istio.Authorizer
	pas   []*unstructured.Unstructured
}

func (r *replayer) state(p Policies) state {
	return state{authz: istio.Authorizer{Policies: p.AuthorizationPolicies, RootNamespace: r.c.Mesh.RootNamespace}, pas: p.PeerAuthentications}
}

// verdict is what one set of policies does to an edge's requests at one destination pod.
type verdict struct {
	allowed istio.Tri
	mtls    istio.Tri // plaintext accepted (Yes for mTLS)
	path    istio.PathDecision
	at, why string
	by      *DecidedBy
}

// decide is the verdict of s on o's requests to t: the destination's PeerAuthentication for
// plaintext, then authorization at every hop in order.
func (r *replayer) decide(s state, o Observation, t target) verdict {
	req := istio.Request{Port: t.port, TCP: o.Protocol == "tcp"}
	if !req.TCP {
		req.RequestPrincipal = istio.Unknown // tokens are not in telemetry: any, or none
	}
	if o.MTLS {
		req.Principal = o.Source.Principal
		if req.Principal == "" {
			req.Principal = istio.Unknown
		}
	}
	v := verdict{mtls: istio.Yes}
	var mtls istio.MTLS
	note := ""
	if enforcing(t.hops) {
		mtls = istio.EffectiveMTLS(s.pas, r.c.Mesh.RootNamespace, t.pod.Namespace, t.pod.Labels)
		switch {
		case !o.MTLS:
			v.mtls = istio.Yes - modeAt(mtls, t.port, istio.ModeStrict)
		case istio.HasSidecar(t.pod) && modeAt(mtls, t.port, istio.ModeDisable) == istio.Yes:
			// Callers' sidecars send plaintext to a workload whose mTLS is DISABLE (auto
			// mTLS): its proxy learns no identity. ztunnel ignores DISABLE.
			req.Principal = ""
			note = fmt.Sprintf("callers send plaintext (mTLS DISABLE by %s); ", mtls.Source())
		}
	}
	v.path = s.authz.DecidePath(t.hops, req, t.waypointPrincipal)
	v.allowed = min(v.mtls, v.path.Allowed)
	if len(t.hops) > 0 {
		v.at = v.path.Hop.Point.At
	}
	switch v.mtls {
	case istio.No:
		v.at = t.hops[len(t.hops)-1].Point.At
		v.why = fmt.Sprintf("at the %s: plaintext refused: mTLS %s by %s", v.at, mtls, mtls.Source())
		v.by = objectRef("PeerAuthentication", mtls.Policy)
		return v
	case istio.Maybe:
		note = fmt.Sprintf("plaintext refused on some ports (mTLS %s by %s); ", mtls, mtls.Source())
	}
	v.why = note + v.path.Reason
	if len(t.hops) > 0 {
		v.why = "at the " + v.path.Hop.Point.String() + ": " + v.why
	}
	v.by = decidedBy(v.path.Decision)
	return v
}

// enforcing: the request ends at a sidecar or ztunnel, where PeerAuthentications apply.
func enforcing(hops []istio.Hop) bool {
	if len(hops) == 0 {
		return false
	}
	at := hops[len(hops)-1].Point.At
	return at == istio.AtSidecar || at == istio.AtZtunnel
}

// modeAt says whether mode holds for requests to port (0: unknown, so any of the ports).
func modeAt(m istio.MTLS, port int, mode string) istio.Tri {
	if port != 0 {
		if p, ok := m.Ports[uint32(port)]; ok {
			return boolTri(p == mode)
		}
		return boolTri(m.Mode == mode)
	}
	switch {
	case m.Everywhere(mode):
		return istio.Yes
	case m.Anywhere(mode):
		return istio.Maybe
	}
	return istio.No
}

func boolTri(b bool) istio.Tri {
	if b {
		return istio.Yes
	}
	return istio.No
}

// decidedBy is the rule that decides d: the DENY rule that matches, or the ALLOW rule that
// admits; nil when no rule decides (nothing applies, or no ALLOW rule matches). For a request
// decided only for some of its values, the first rule that may match.
func decidedBy(d istio.Decision) *DecidedBy {
	var rules []istio.RuleRef
	switch d.Allowed {
	case istio.No:
		rules = yes(d.Denying)
	case istio.Yes:
		if len(d.AllowPolicies) > 0 {
			rules = yes(d.Allowing)
		}
	default:
		rules = append(slices.Clone(d.Denying), d.Allowing...)
	}
	if len(rules) == 0 {
		return nil
	}
	namespace, name, _ := strings.Cut(rules[0].Policy, "/")
	by := &DecidedBy{Kind: "AuthorizationPolicy", Namespace: namespace, Name: name}
	if rules[0].Index >= 0 {
		by.Rule = &rules[0].Index
	}
	return by
}

func yes(rules []istio.RuleRef) []istio.RuleRef {
	return slices.DeleteFunc(slices.Clone(rules), func(r istio.RuleRef) bool { return r.Match != istio.Yes })
}

func objectRef(kind string, obj *unstructured.Unstructured) *DecidedBy {
	if obj == nil {
		return nil
	}
	return &DecidedBy{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// widerThan reports whether x allows some request of the edge that y does not: a better
// verdict, or, where both allow some requests, a rule at some hop that admits more.
func widerThan(x, y verdict) bool {
	switch {
	case x.allowed == istio.No:
		return false
	case y.allowed == istio.No, x.allowed > y.allowed, x.mtls > y.mtls:
		return true
	}
	for i := range min(len(x.path.Hops), len(y.path.Hops)) {
		if istio.Wider(y.path.Hops[i], x.path.Hops[i]) {
			return true
		}
	}
	return false
}

// compare decides o at each of its destination pods before and after, and makes the edge,
// changed when some request's verdict changes at some pod.
func (r *replayer) compare(o Observation, targets []target, b, a state) (Edge, bool) {
	var denied, allowed bool
	var before, after []istio.Tri
	var vb, va verdict // said for the edge: the first pod where it changes, else the first
	for i, t := range targets {
		tb, ta := r.decide(b, o, t), r.decide(a, o, t)
		before, after = append(before, tb.allowed), append(after, ta.allowed)
		d, al := widerThan(tb, ta), widerThan(ta, tb)
		if i == 0 || (d || al) && !denied && !allowed {
			vb, va = tb, ta
		}
		denied, allowed = denied || d, allowed || al
	}
	e := Edge{Source: o.Source, Destination: o.Destination, Protocol: o.Protocol, MTLS: o.MTLS,
		Requests: int64(math.Round(o.Requests)), Refused: int64(math.Round(o.Refused)),
		Before: word(combine(before)), After: word(combine(after)),
		DecidedBy: va.by, EnforcedAt: va.at, Why: va.why, WhyBefore: vb.why}
	switch {
	case denied && allowed:
		e.Change = Mixed
	case denied:
		e.Change = NewlyDenied
	case allowed:
		e.Change = NewlyAllowed
	}
	return e, e.Change != ""
}

// combine is the verdict over pods: the same everywhere, else some requests only.
func combine(verdicts []istio.Tri) istio.Tri {
	for _, v := range verdicts[1:] {
		if v != verdicts[0] {
			return istio.Maybe
		}
	}
	return verdicts[0]
}

func word(t istio.Tri) string {
	return [...]string{Denied, Partial, Allowed}[t]
}

// sortEdges: newly denied first (what would break), then mixed, then newly allowed; by
// destination, then source.
func sortEdges(edges []Edge) {
	rank := map[string]int{NewlyDenied: 0, Mixed: 1, NewlyAllowed: 2}
	slices.SortStableFunc(edges, func(x, y Edge) int {
		if d := rank[x.Change] - rank[y.Change]; d != 0 {
			return d
		}
		if c := strings.Compare(x.Destination.String(), y.Destination.String()); c != 0 {
			return c
		}
		if c := strings.Compare(x.Source.String(), y.Source.String()); c != 0 {
			return c
		}
		// The same edge in several clusters of a mesh: by the cluster that decides it.
		return strings.Compare(x.clusterOf(), y.clusterOf())
	})
}

// String names the caller: its workload, else its identity, else that it is unknown.
func (s Source) String() string {
	switch {
	case s.Workload != "" && s.Namespace != "":
		return s.Namespace + "/" + s.Workload
	case s.Principal != "":
		return s.Principal
	}
	return "unknown (plaintext: no identity)"
}

// String names the destination: its workload, else the Service called.
func (d Destination) String() string {
	if d.Workload != "" {
		return d.Namespace + "/" + d.Workload
	}
	return d.Namespace + "/" + d.Service + " (Service)"
}

// target is one destination pod of an edge (one per distinct set of labels and data plane):
// where its requests are authorized, on which port, and the identity its waypoint shows.
type target struct {
	pod               *corev1.Pod
	hops              []istio.Hop
	port              int
	waypointPrincipal string
}
