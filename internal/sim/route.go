package sim

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
)

// Mesh is a snapshot with the lookups routing needs: one cluster's configuration, and the
// workloads of every cluster in the mesh (NewMeshes).
type Mesh struct {
	*Snapshot
	Workloads []*Workload
	Cluster   string // the ID of the cluster whose configuration this is

	clusters map[string]*Mesh // every cluster's view, by ID; nil in a mesh of one cluster
	order    []*Mesh
}

// NewMesh indexes a snapshot of a mesh of one cluster.
func NewMesh(s *Snapshot) *Mesh {
	return &Mesh{Snapshot: s, Workloads: s.Workloads(), Cluster: s.clusterID()}
}

// Request is an HTTP request as the simulator sends it.
type Request struct {
	Host    string // the Host header, for gateway routing
	Method  string
	Path    string
	Headers map[string]string
	// At is when the call leaves the caller; Trace the context it carries (nil: none, as
	// from an app that does not forward trace headers).
	At    time.Time
	Trace *TraceContext
}

// Target is where routing sent a request: a pod of a workload, or a failure flag as Envoy
// reports it (NR no route, NC no cluster i.e. unknown subset, UH no healthy upstream).
type Target struct {
	Service  *corev1.Service
	Workload *Workload
	Pod      *corev1.Pod
	// Via is the waypoint an ambient caller hands the request to; it picks the pod.
	Via  *Workload
	Flag string
	// Abort is an injected fault's status (0: none); Delay an injected delay in ms.
	Abort int
	Delay float64
	// Retries are the route's (none unless it sets them: Istio's default policy is not
	// simulated).
	Retries Retries
}

// Service finds a Service by name and namespace: this cluster's, else another cluster's.
func (m *Mesh) Service(name, namespace string) *corev1.Service {
	if svc := m.localService(name, namespace); svc != nil {
		return svc
	}
	return m.remoteService(name, namespace)
}

// WorkloadByApp finds a namespace's workload of this cluster by app label (the first, for
// callers).
func (m *Mesh) WorkloadByApp(namespace, app string) *Workload {
	for _, w := range m.Workloads {
		if w.Cluster == m.Cluster && w.Namespace == namespace && w.App == app {
			return w
		}
	}
	return nil
}

// route picks where a caller's request for svc goes, as its data plane does: a sidecar (or a
// gateway) routes by the Service's routes; an ambient caller hands it to the Service's waypoint
// when it has one, and otherwise to one of its pods (ztunnel is L4 and does not route
// requests); a caller outside the mesh reaches a pod directly. Only sidecars reach other
// clusters: kube-proxy and ztunnel know their own cluster's endpoints.
func (m *Mesh) route(rng *rand.Rand, caller *Workload, svc *corev1.Service, req Request) Target {
	switch {
	case caller.Sidecar:
		return m.RouteMesh(rng, caller.Namespace, svc, req)
	case caller.Ambient:
		if wp := m.waypointFor(svc); wp != nil {
			return Target{Service: svc, Via: wp}
		}
	}
	return m.pickIn(rng, svc, nil, m.Cluster)
}

// RouteMesh routes a sidecar's request for svc: an HTTPRoute attached to the Service, else
// the VirtualService for the host that applies to mesh traffic (the caller's namespace first,
// then the service's), else straight to the service's ready pods.
func (m *Mesh) RouteMesh(rng *rand.Rand, callerNS string, svc *corev1.Service, req Request) Target {
	if route := m.httpRouteFor(callerNS, svc); route != nil {
		return m.routeHTTPRoute(rng, route, req)
	}
	var candidates []*networkingv1.VirtualService
	for _, vs := range m.VirtualServices {
		if !appliesToMesh(vs) {
			continue
		}
		for _, h := range vs.Spec.Hosts {
			if hostNames(h, vs.Namespace, svc.Name, svc.Namespace) {
				candidates = append(candidates, vs)
				break
			}
		}
	}
	for _, ns := range []string{callerNS, svc.Namespace} {
		for _, vs := range candidates {
			if vs.Namespace == ns {
				return m.routeVirtualService(rng, vs, req)
			}
		}
	}
	return m.pick(rng, svc, nil)
}

// RouteGateway routes a request arriving at an ingress gateway: a VirtualService bound to a
// gateway whose hosts include the request's Host (or "*").
func (m *Mesh) RouteGateway(rng *rand.Rand, req Request) (Target, bool) {
	for _, vs := range m.VirtualServices {
		bound := false
		for _, g := range vs.Spec.Gateways {
			bound = bound || g != "mesh"
		}
		if !bound {
			continue
		}
		for _, h := range vs.Spec.Hosts {
			if h == "*" || h == req.Host {
				return m.routeVirtualService(rng, vs, req), true
			}
		}
	}
	return Target{}, false
}

// GatewayHosts are the hosts that gateway-bound VirtualServices serve.
func (m *Mesh) GatewayHosts() []string {
	var hosts []string
	for _, vs := range m.VirtualServices {
		for _, g := range vs.Spec.Gateways {
			if g != "mesh" {
				hosts = append(hosts, vs.Spec.Hosts...)
				break
			}
		}
	}
	return hosts
}

func appliesToMesh(vs *networkingv1.VirtualService) bool {
	if len(vs.Spec.Gateways) == 0 {
		return true
	}
	for _, g := range vs.Spec.Gateways {
		if g == "mesh" {
			return true
		}
	}
	return false
}

func (m *Mesh) routeVirtualService(rng *rand.Rand, vs *networkingv1.VirtualService, req Request) Target {
	for _, route := range vs.Spec.Http {
		if !routeMatches(route, req) {
			continue
		}
		var t Target
		if f := route.GetFault(); f != nil {
			if a := f.GetAbort(); a != nil && rng.Float64()*100 < percentage(a.GetPercentage()) {
				t.Abort = int(a.GetHttpStatus())
			}
			if d := f.GetDelay(); d != nil && rng.Float64()*100 < percentage(d.GetPercentage()) {
				t.Delay = float64(d.GetFixedDelay().AsDuration().Milliseconds())
			}
		}
		dest := pickDestination(rng, route.Route)
		if dest == nil {
			t.Flag = "NR"
			return t
		}
		svc := m.serviceForHost(dest.GetDestination().GetHost(), vs.Namespace)
		if svc == nil {
			t.Flag = "NR"
			return t
		}
		target := m.pick(rng, svc, &subsetRef{name: dest.GetDestination().GetSubset(), from: vs.Namespace})
		target.Abort, target.Delay = t.Abort, t.Delay
		if r := route.GetRetries(); r != nil {
			target.Retries = Retries{Attempts: int(r.GetAttempts()), On: r.GetRetryOn()}
		}
		return target
	}
	return Target{Flag: "NR"}
}

func percentage(p *networkingapi.Percent) float64 {
	if p == nil {
		return 100
	}
	return p.GetValue()
}

func routeMatches(route *networkingapi.HTTPRoute, req Request) bool {
	if len(route.Match) == 0 {
		return true
	}
	for _, m := range route.Match {
		if stringMatches(m.GetUri(), req.Path) && stringMatches(m.GetMethod(), req.Method) && headersMatch(m.GetHeaders(), req.Headers) {
			return true
		}
	}
	return false
}

func headersMatch(want map[string]*networkingapi.StringMatch, have map[string]string) bool {
	for k, m := range want {
		v, ok := have[strings.ToLower(k)]
		if !ok || !stringMatches(m, v) {
			return false
		}
	}
	return true
}

func stringMatches(m *networkingapi.StringMatch, v string) bool {
	switch {
	case m == nil:
		return true
	case m.GetExact() != "":
		return v == m.GetExact()
	case m.GetPrefix() != "":
		return strings.HasPrefix(v, m.GetPrefix())
	case m.GetRegex() != "":
		re, err := regexp.Compile("^(?:" + m.GetRegex() + ")$")
		return err == nil && re.MatchString(v)
	}
	return true
}

// pickDestination draws a destination by weight; a lone destination without a weight takes
// all traffic, and weight 0 takes none.
func pickDestination(rng *rand.Rand, dests []*networkingapi.HTTPRouteDestination) *networkingapi.HTTPRouteDestination {
	if len(dests) == 1 && dests[0].GetWeight() == 0 {
		return dests[0]
	}
	var total int32
	for _, d := range dests {
		total += d.GetWeight()
	}
	if total <= 0 {
		return nil
	}
	n := rng.Int32N(total)
	for _, d := range dests {
		if n < d.GetWeight() {
			return d
		}
		n -= d.GetWeight()
	}
	return nil
}

// serviceForHost is the Service host names, written in namespace fromNS: this cluster's,
// else another cluster's.
func (m *Mesh) serviceForHost(host, fromNS string) *corev1.Service {
	for _, o := range append([]*Mesh{m}, m.order...) {
		for i := range o.Services {
			s := &o.Services[i]
			if hostNames(host, fromNS, s.Name, s.Namespace) {
				return s
			}
		}
	}
	return nil
}

type subsetRef struct{ name, from string }

// pick chooses a ready pod of svc, in any cluster, within a subset when one is named: the
// subset must be in a DestinationRule for the service (else NC), and select ready pods (else
// UH).
func (m *Mesh) pick(rng *rand.Rand, svc *corev1.Service, subset *subsetRef) Target {
	return m.pickIn(rng, svc, subset, "")
}

// pickIn is pick among the pods of cluster only ("": every cluster's). In each cluster the
// Service of svc's name there selects the pods; the subset's labels are this cluster's.
func (m *Mesh) pickIn(rng *rand.Rand, svc *corev1.Service, subset *subsetRef, cluster string) Target {
	t := Target{Service: svc}
	var subsetLabels map[string]string
	if subset != nil && subset.name != "" {
		found := false
		for _, dr := range m.DestinationRules {
			if !hostNames(dr.Spec.Host, dr.Namespace, svc.Name, svc.Namespace) {
				continue
			}
			for _, s := range dr.Spec.Subsets {
				if s.GetName() == subset.name {
					subsetLabels, found = s.GetLabels(), true
				}
			}
		}
		if !found {
			t.Flag = "NC"
			return t
		}
	}
	type candidate struct {
		w   *Workload
		pod *corev1.Pod
	}
	var pool []candidate
	selectors := m.selectorsIn(svc)
	for _, w := range m.Workloads {
		selector := selectors[w.Cluster]
		if len(selector) == 0 || (cluster != "" && w.Cluster != cluster) {
			continue
		}
		if w.Namespace != svc.Namespace || !matchesLabels(selector, w.Labels) || !matchesLabels(subsetLabels, w.Labels) {
			continue
		}
		for _, p := range w.Pods {
			pool = append(pool, candidate{w, p})
		}
	}
	if len(pool) == 0 {
		t.Flag = "UH"
		return t
	}
	c := pool[rng.IntN(len(pool))]
	t.Workload, t.Pod = c.w, c.pod
	return t
}
