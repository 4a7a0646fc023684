package sim

import (
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
)

// Envoy's default histogram buckets, in milliseconds.
var durationBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// The labels Istio's standard metrics carry.
var (
	peerLabels = []string{
		"reporter",
		"source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
		"source_canonical_service", "source_canonical_revision", "source_cluster",
		"destination_workload", "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
		"destination_service", "destination_service_name", "destination_service_namespace",
		"destination_canonical_service", "destination_canonical_revision", "destination_cluster",
		"request_protocol", "response_flags", "connection_security_policy",
	}
	requestLabels = append(append([]string{}, peerLabels...), "response_code", "grpc_response_status")
)

// sidecarMetrics is one simulated proxy's metrics, scraped on its own path.
type sidecarMetrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	tcpSent     *prometheus.CounterVec
	tcpReceived *prometheus.CounterVec
	tcpOpened   *prometheus.CounterVec
	tcpClosed   *prometheus.CounterVec
}

func newSidecarMetrics() *sidecarMetrics {
	m := &sidecarMetrics{
		registry:    prometheus.NewRegistry(),
		requests:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "istio_requests_total", Help: "Requests, as an Istio proxy counts them."}, requestLabels),
		duration:    prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "istio_request_duration_milliseconds", Help: "Request duration.", Buckets: durationBuckets}, requestLabels),
		tcpSent:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "istio_tcp_sent_bytes_total", Help: "Bytes sent in responses on TCP connections."}, peerLabels),
		tcpReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "istio_tcp_received_bytes_total", Help: "Bytes received in requests on TCP connections."}, peerLabels),
		tcpOpened:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "istio_tcp_connections_opened_total", Help: "TCP connections opened."}, peerLabels),
		tcpClosed:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "istio_tcp_connections_closed_total", Help: "TCP connections closed."}, peerLabels),
	}
	m.registry.MustRegister(m.requests, m.duration, m.tcpSent, m.tcpReceived, m.tcpOpened, m.tcpClosed)
	return m
}

// Metrics holds every simulated sidecar's metrics, by cluster and pod.
type Metrics struct {
	mu   sync.Mutex
	pods map[string]*sidecarMetrics // cluster/namespace/pod
}

// NewMetrics returns an empty set.
func NewMetrics() *Metrics { return &Metrics{pods: map[string]*sidecarMetrics{}} }

func (m *Metrics) of(cluster string, pod *corev1.Pod) *sidecarMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := cluster + "/" + pod.Namespace + "/" + pod.Name
	s, ok := m.pods[key]
	if !ok {
		s = newSidecarMetrics()
		m.pods[key] = s
	}
	return s
}

// ServeHTTP serves /stats/prometheus/NAMESPACE/POD, one sidecar's metrics of the cluster
// DefaultCluster, like Envoy's /stats/prometheus on port 15090, and
// /stats/prometheus/CLUSTER/NAMESPACE/POD, a sidecar's of any cluster: each cluster's
// Prometheus scrapes its own pods' paths.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/stats/prometheus/")
	if strings.Count(key, "/") == 1 {
		key = DefaultCluster + "/" + key
	}
	m.mu.Lock()
	s, ok := m.pods[key]
	m.mu.Unlock()
	if !ok {
		// A sidecar that has seen no traffic yet exposes no series.
		s = newSidecarMetrics()
	}
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// Report is one proxy's view of a request or a TCP connection.
type Report struct {
	Reporter    string // source, destination or waypoint
	Source      *Workload
	Destination *Workload
	Service     *corev1.Service
	Protocol    string // http, grpc or tcp
	Code        int
	Flags       string
	Security    string // mutual_tls, none, unknown
	PeerKnown   bool   // the destination learnt the source's identity (mTLS peer metadata)
	DurationMs  float64
	SentBytes   float64
	RecvBytes   float64
}

// MetricsPath is where ServeHTTP serves the metrics of a pod's proxy in cluster.
func MetricsPath(cluster, namespace, pod string) string {
	return "/stats/prometheus/" + cluster + "/" + namespace + "/" + pod
}

// Record counts r on the reporting pod's sidecar, in the reporting proxy's cluster.
func (m *Metrics) Record(pod *corev1.Pod, r Report) {
	s := m.of(r.reporterCluster(), pod)
	values := r.labels()
	if r.Protocol == "tcp" {
		s.tcpOpened.WithLabelValues(values...).Inc()
		s.tcpClosed.WithLabelValues(values...).Inc()
		s.tcpSent.WithLabelValues(values...).Add(r.SentBytes)
		s.tcpReceived.WithLabelValues(values...).Add(r.RecvBytes)
		return
	}
	values = append(values, itoa(r.Code), "-")
	s.requests.WithLabelValues(values...).Inc()
	s.duration.WithLabelValues(values...).Observe(r.DurationMs)
}

func (r Report) labels() []string {
	src := workloadLabels(r.Source)
	if r.Reporter == "destination" && !r.PeerKnown {
		// Without mTLS no peer metadata arrives: the destination knows nothing of the caller.
		src = workloadLabels(nil)
	}
	dst := workloadLabels(r.Destination)
	reporting := r.reporterCluster()
	srcCluster, dstCluster := clusterOf(r.Source, reporting), clusterOf(r.Destination, reporting)
	svcName, svcNS, svcHost := "unknown", "unknown", "unknown"
	if r.Service != nil {
		svcName, svcNS = r.Service.Name, r.Service.Namespace
		svcHost = svcName + "." + svcNS + ".svc.cluster.local"
	}
	flags := r.Flags
	if flags == "" {
		flags = "-"
	}
	return []string{
		r.Reporter,
		src.workload, src.namespace, src.principal, src.app, src.version, src.canonical, src.revision, srcCluster,
		dst.workload, dst.namespace, dst.principal, dst.app, dst.version,
		svcHost, svcName, svcNS, dst.canonical, dst.revision, dstCluster,
		r.Protocol, flags, r.Security,
	}
}

type peer struct{ workload, namespace, principal, app, version, canonical, revision string }

func workloadLabels(w *Workload) peer {
	if w == nil {
		return peer{"unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown"}
	}
	p := peer{w.Name, w.Namespace, w.Principal(), w.App, w.Version, w.App, w.Version}
	if !w.Sidecar && !w.Ambient {
		p.principal = "unknown"
	}
	if p.app == "" {
		p.app, p.canonical = w.Name, w.Name
	}
	if p.version == "" {
		p.version, p.revision = "unknown", "latest"
	}
	return p
}

func itoa(code int) string {
	if code == 0 {
		return "0"
	}
	var b []byte
	for code > 0 {
		b = append([]byte{byte('0' + code%10)}, b...)
		code /= 10
	}
	return string(b)
}
