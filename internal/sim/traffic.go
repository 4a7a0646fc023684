package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Downstream is bookinfo's topology: productpage asks details and reviews; reviews v2 and v3
// ask ratings (v1 shows no stars); ratings reads its database over TCP.
var Downstream = map[string][]downstream{
	"productpage": {{Service: "details", Path: "/details/0"}, {Service: "reviews", Path: "/reviews/0"}},
	"reviews":     {{Service: "ratings", Path: "/ratings/0", Versions: []string{"v2", "v3"}}},
	"ratings":     {{Service: "mongodb", TCP: true}},
}

type downstream struct {
	Service  string
	Path     string
	TCP      bool
	Versions []string // only these versions of the caller make the call; empty: all
}

// defaultLatencyMs are medians per app (and app-version) when no annotation says otherwise.
var defaultLatencyMs = map[string]float64{
	"productpage": 8, "details": 2, "reviews": 4, "reviews-v3": 45, "ratings": 2, "mongodb": 1,
}

// Entry is a source of traffic into the mesh.
type Entry struct {
	// Cluster is the ID of the calling workload's cluster ("": the first cluster's).
	Cluster        string
	Namespace, App string  // the calling workload
	Service        string  // service.namespace it calls; empty: the ingress gateway's routes
	RPS            float64 // requests per second
}

// Simulator sends traffic through the mesh and records what every sidecar would report.
type Simulator struct {
	Kube    kubernetes.Interface
	Istio   istioclient.Interface
	Dynamic dynamic.Interface // Gateway API's objects
	// Clusters, when set, are the API servers of one mesh spanning several clusters, read
	// instead of Kube, Istio and Dynamic (whose cluster is DefaultCluster).
	Clusters []ClusterSource
	Metrics  *Metrics
	Entries  []Entry
	// Refresh is how often the cluster is re-read; changes take effect within it.
	Refresh time.Duration
	// Tracer, when set, records every sampled hop's spans and sends them once a second.
	Tracer *Tracer

	mu     sync.RWMutex
	mesh   *Mesh
	meshes []*Mesh
	rng    *rand.Rand
}

// Bookinfo is the sandbox's traffic: the ingress gateway's routes at 10 requests per second,
// a plaintext client without a sidecar calling productpage at 2, the ingress gateway calling
// the Gateway API bookinfo's productpage at 10, and in the ambient bookinfo its own gateway
// at 10 and the plaintext client at 2.
func Bookinfo() []Entry {
	return []Entry{
		{Namespace: "istio-system", App: "istio-ingressgateway", RPS: 10},
		{Namespace: "legacy", App: "curl-client", Service: "productpage.default", RPS: 2},
		{Namespace: "istio-system", App: "istio-ingressgateway", Service: "productpage.bookinfo-gateway-api", RPS: 10},
		{Namespace: "bookinfo-ambient", App: "bookinfo-gateway", Service: "productpage.bookinfo-ambient", RPS: 10},
		{Namespace: "legacy", App: "curl-client", Service: "productpage.bookinfo-ambient", RPS: 2},
	}
}

// Mesh is the snapshot in use (nil before the first read); of several clusters, the first's
// view.
func (s *Simulator) Mesh() *Mesh {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mesh
}

// Run refreshes the snapshot and sends traffic until ctx ends.
func (s *Simulator) Run(ctx context.Context) error {
	if s.Refresh == 0 {
		s.Refresh = time.Second
	}
	s.rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	if err := s.refresh(ctx); err != nil {
		return err
	}
	refresh := time.NewTicker(s.Refresh)
	defer refresh.Stop()
	const tick = 50 * time.Millisecond
	traffic := time.NewTicker(tick)
	defer traffic.Stop()
	owed := make([]float64, len(s.Entries))
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-flush.C:
			if s.Tracer != nil {
				// Spans a Jaeger not up yet refuses are lost, as a proxy's would be.
				_ = s.Tracer.Flush(ctx)
			}
		case <-refresh.C:
			// A failed read keeps the last snapshot: traffic goes on as configured before.
			_ = s.refresh(ctx)
		case <-traffic.C:
			m := s.Mesh()
			for i, e := range s.Entries {
				owed[i] += e.RPS * tick.Seconds()
				for ; owed[i] >= 1; owed[i]-- {
					s.send(m, e)
				}
			}
		}
	}
}

func (s *Simulator) refresh(ctx context.Context) error {
	meshes, err := s.loadMeshes(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.mesh, s.meshes = meshes[0], meshes
	s.mu.Unlock()
	return nil
}

func (s *Simulator) send(m *Mesh, e Entry) {
	if e.Cluster != "" {
		m = m.In(e.Cluster)
	}
	src := m.WorkloadByApp(e.Namespace, e.App)
	if src == nil || len(src.Pods) == 0 {
		return
	}
	pod := src.Pods[s.rng.IntN(len(src.Pods))]
	if e.Service == "" {
		hosts := m.GatewayHosts()
		if len(hosts) == 0 {
			return
		}
		req := Request{Host: hosts[s.rng.IntN(len(hosts))], Method: "GET", Path: "/productpage", Headers: map[string]string{}, At: time.Now()}
		if t, ok := m.RouteGateway(s.rng, req); ok {
			s.deliver(m, src, pod, t, req, 0)
		}
		return
	}
	name, ns, _ := strings.Cut(e.Service, ".")
	if svc := m.Service(name, ns); svc != nil {
		req := Request{Host: name, Method: "GET", Path: "/productpage", Headers: map[string]string{}, At: time.Now()}
		s.deliver(m, src, pod, m.route(s.rng, src, svc, req), req, 0)
	}
}

// deliver carries one request from src (on srcPod) to the routed target, reports it on both
// proxies, and returns the status the caller sees (0: connection reset) and the duration.
func (s *Simulator) deliver(m *Mesh, src *Workload, srcPod *corev1.Pod, t Target, req Request, depth int) (int, float64) {
	if t.Via != nil {
		return s.deliverViaWaypoint(m, src, t, req, depth)
	}
	report := s.report
	source := Report{Reporter: "source", Source: src, Destination: t.Workload, Service: t.Service, Protocol: "http", Security: "unknown"}
	if !src.Sidecar {
		srcPod = nil // nothing reports on the caller's side
	}
	if t.Abort != 0 {
		source.Code, source.Flags, source.DurationMs = t.Abort, joinFlags(t.delayFlag(), "FI"), t.Delay+0.2
		report(srcPod, source)
		return t.Abort, t.Delay
	}
	if t.Flag != "" {
		source.Code, source.Flags, source.DurationMs = 503, t.Flag, 0.3
		report(srcPod, source)
		return 503, 0.3
	}
	dst := t.Workload
	if dst.Ambient {
		return s.deliverToAmbient(m, src, srcPod, t, req, depth, source)
	}
	port := servicePort(t.Service)
	h := s.Tracer.begin(req.Trace, req.At)
	traced := func(code int, flags string, took float64) {
		s.Tracer.finish(h, src, dst, t.Service, port, code, flags, ms(took))
	}
	// The destination's proxy enforces its own cluster's policies.
	at := m.In(dst.Cluster)
	mode := Permissive
	if dst.Sidecar {
		mode = EffectiveMTLS(at.PeerAuthentications, dst, port)
	}
	mtls := src.Sidecar && dst.Sidecar && mode != Disable
	if dst.Sidecar && !mtls && mode == Strict {
		// STRICT: the plaintext handshake is refused before any request is read.
		source.Code, source.Flags, source.DurationMs = 0, "UF", 0.5
		report(srcPod, source)
		traced(0, "UF", 0.2)
		return 0, 0.5
	}
	dest := Report{Reporter: "destination", Source: src, Destination: dst, Service: t.Service, Protocol: "http", Security: "none", PeerKnown: mtls}
	if mtls {
		dest.Security = "mutual_tls"
	}
	if !dst.Sidecar {
		t.Pod = nil // nothing reports on the destination's side
	}

	if dst.Sidecar {
		call := Call{Method: req.Method, Path: req.Path, Host: req.Host, Port: port, Headers: req.Headers}
		if mtls {
			call.Principal = strings.TrimPrefix(src.Principal(), "spiffe://")
			call.Namespace = src.Namespace
		}
		if !Authorize(at.AuthorizationPolicies, dst, call) {
			dest.Code, dest.DurationMs = 403, 0.2
			source.Code, source.DurationMs = 403, 0.5
			report(t.Pod, dest)
			report(srcPod, source)
			traced(403, "-", 0.2)
			return 403, 0.5
		}
	}

	code, duration, took, flags := s.serveWithRetries(m, t, req, depth, h, dest)
	traced(code, "-", duration)
	duration += t.Delay
	dest.Code, dest.DurationMs = code, duration
	source.Code, source.Flags, source.DurationMs = code, flags, took+t.Delay+0.3
	report(t.Pod, dest)
	report(srcPod, source)
	return code, took + t.Delay + 0.3
}

// serveWithRetries serves the request at t's destination, again while t's retry policy
// retries it. Each attempt reaches the destination, which reports it (dest); the source
// reports the request once, with URX among flags when the attempts ran out. It returns the
// last attempt's code and duration, the attempts' total, and the source's flags.
func (s *Simulator) serveWithRetries(m *Mesh, t Target, req Request, depth int, h *hop, dest Report) (code int, duration, took float64, flags string) {
	code, duration = s.serve(m, t.Workload, t.Pod, depth, h.serverContext(), serverStart(req.At))
	flags, took = t.delayFlag(), duration
	for try := 0; try < t.Retries.Attempts && t.Retries.retriable(code); try++ {
		dest.Code, dest.DurationMs = code, duration
		s.report(t.Pod, dest)
		code, duration = s.serve(m, t.Workload, t.Pod, depth, h.serverContext(), serverStart(req.At))
		took += duration
	}
	if t.Retries.Attempts > 0 && t.Retries.retriable(code) {
		flags = joinFlags(flags, "URX")
	}
	return code, duration, took, flags
}

// report records r on pod's proxy, if the pod has one reporting.
func (s *Simulator) report(pod *corev1.Pod, r Report) {
	if pod != nil {
		s.Metrics.Record(pod, r)
	}
}

// serve is dst answering a request: its latency, its error rate, and the calls it makes.
// trace is the context its calls may carry (its server span; nil when untraced), and at when
// the request reached it: its calls leave once it has done half its own work.
func (s *Simulator) serve(m *Mesh, dst *Workload, pod *corev1.Pod, depth int, trace *TraceContext, at time.Time) (int, float64) {
	m = m.In(dst.Cluster) // its calls are routed by its own cluster's istiod
	duration := s.latency(dst)
	if s.rng.Float64() < dst.ErrorRate {
		return 503, duration
	}
	if depth < 5 {
		if at.IsZero() {
			at = time.Now()
		}
		duration += s.callDownstream(m, dst, pod, depth, trace, at.Add(ms(duration/2)))
	}
	return 200, duration
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// servicePort is the port a Service's requests arrive on at the pod.
func servicePort(svc *corev1.Service) uint32 {
	if len(svc.Spec.Ports) == 0 {
		return 9080
	}
	if port := uint32(svc.Spec.Ports[0].TargetPort.IntValue()); port != 0 {
		return port
	}
	return uint32(svc.Spec.Ports[0].Port)
}

// callDownstream makes the calls an app makes for each request it serves, one after another,
// from at; each carries trace unless the app drops the context.
func (s *Simulator) callDownstream(m *Mesh, w *Workload, pod *corev1.Pod, depth int, trace *TraceContext, at time.Time) float64 {
	if s.Tracer.drops(w) {
		trace = nil
	}
	var total float64
	for _, d := range Downstream[w.App] {
		if len(d.Versions) > 0 && !containsString(d.Versions, w.Version) {
			continue
		}
		svc := m.Service(d.Service, w.Namespace)
		if svc == nil {
			continue
		}
		if d.TCP {
			total += s.connect(m, w, pod, svc)
			continue
		}
		req := Request{Host: d.Service, Method: "GET", Path: d.Path, Headers: map[string]string{}, At: at.Add(ms(total)), Trace: trace}
		_, took := s.deliver(m, w, pod, m.route(s.rng, w, svc, req), req, depth+1)
		total += took
	}
	return total
}

// connect opens one TCP connection from w to svc and reports the bytes on both proxies.
func (s *Simulator) connect(m *Mesh, w *Workload, pod *corev1.Pod, svc *corev1.Service) float64 {
	t := m.pick(s.rng, svc, nil)
	if t.Flag != "" {
		return 0.3
	}
	dst := t.Workload
	port := uint32(svc.Spec.Ports[0].Port)
	mode := Permissive
	if dst.Sidecar {
		mode = EffectiveMTLS(m.In(dst.Cluster).PeerAuthentications, dst, port)
	}
	mtls := w.Sidecar && dst.Sidecar && mode != Disable
	if dst.Sidecar && !mtls && mode == Strict {
		return 0.5
	}
	sent, recv := 200+s.rng.Float64()*100, 1500+s.rng.Float64()*1000
	security := "none"
	if mtls {
		security = "mutual_tls"
	}
	if w.Sidecar {
		s.Metrics.Record(pod, Report{Reporter: "source", Source: w, Destination: dst, Service: svc, Protocol: "tcp", Security: "unknown", SentBytes: sent, RecvBytes: recv})
	}
	if dst.Sidecar {
		s.Metrics.Record(t.Pod, Report{Reporter: "destination", Source: w, Destination: dst, Service: svc, Protocol: "tcp", Security: security, PeerKnown: mtls, SentBytes: recv, RecvBytes: sent})
	}
	return s.latency(dst)
}

// latency draws a duration around the workload's median (log-normal, as service latencies
// tend to be).
func (s *Simulator) latency(w *Workload) float64 {
	median := w.LatencyMs
	if median == 0 {
		median = defaultLatencyMs[w.Name]
		if median == 0 {
			median = defaultLatencyMs[w.App]
		}
		if median == 0 {
			median = 5
		}
	}
	return median * math.Exp(0.4*s.rng.NormFloat64())
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
