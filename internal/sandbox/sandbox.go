// Package sandbox runs a mesh on a laptop with no cluster and no containers: the real control
// plane pieces (etcd, kube-apiserver with Istio's CRDs, Prometheus) and the simulated data
// plane of package sim, with bookinfo deployed as the Istio tutorial deploys it.
package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// Options configure Start.
type Options struct {
	RepoRoot string        // the checkout, for Istio's CRDs
	BinDir   string        // etcd, kube-apiserver, prometheus (default RepoRoot/.cache/bin)
	Dir      string        // working directory for data and logs; must exist
	Scrape   time.Duration // Prometheus scrape interval (default 5s)
	Refresh  time.Duration // how often the simulator re-reads the cluster (default 1s)
	Entries  []sim.Entry   // traffic (default sim.Bookinfo())
	// TraceSampling is the share of requests the proxies trace (default 0.25).
	TraceSampling float64
	// NoTracing leaves Jaeger out, and the spans unsent: less work for tests of the rest.
	NoTracing bool
	// Clusters is how many clusters the mesh spans: 1 (the default) or 2 (StartClusters).
	Clusters int
}

// DropsTraceContext is the sandbox's app that does not forward trace headers: its calls to
// ratings start new traces, for `kubectl mesh traces --check` to find.
const DropsTraceContext = "reviews"

// Sandbox is a running mesh.
type Sandbox struct {
	Cluster       *testcluster.Cluster
	Fixture       *testcluster.Fixture
	PrometheusURL string
	JaegerURL     string // Jaeger's query API and UI, under /jaeger
	Simulator     *sim.Simulator
	// Members are the mesh's clusters, the first the one of Cluster, Fixture and
	// PrometheusURL; GlobalPrometheusURL federates theirs ("" with one cluster); Kubeconfig
	// reaches them all (with one cluster, Cluster.Kubeconfig).
	Members             []*Member
	GlobalPrometheusURL string
	Kubeconfig          string

	stop []func()
}

// Start brings everything up and returns once Prometheus has scraped the first traffic.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Clusters > 1 {
		return startClusters(ctx, opts)
	}
	if opts.Entries == nil {
		opts.Entries = sim.Bookinfo()
	}
	opts = withDefaults(opts)
	s := &Sandbox{}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if err := s.startCluster(ctx, opts); err != nil {
		return nil, err
	}
	metricsAddr, err := s.serveMetrics()
	if err != nil {
		return nil, err
	}
	tracer, err := s.startTracing(ctx, opts)
	if err != nil {
		return nil, err
	}
	targets := filepath.Join(opts.Dir, "targets.json")
	s.Simulator = &sim.Simulator{Kube: s.Fixture.Kube, Istio: s.Fixture.Istio, Dynamic: s.Fixture.Dynamic, Metrics: sim.NewMetrics(), Entries: opts.Entries, Refresh: opts.Refresh, Tracer: tracer}
	runCtx, simErr := s.runSimulator()
	go s.writeTargets(runCtx, targets, metricsAddr, opts.Refresh, "")
	if err := s.startPrometheus(opts, targets); err != nil {
		return nil, err
	}
	if err := waitForTraffic(ctx, s.PrometheusURL, simErr); err != nil {
		return nil, err
	}
	s.Kubeconfig = s.Cluster.Kubeconfig
	s.Members = []*Member{{ID: sim.DefaultCluster, Context: "admin", Cluster: s.Cluster, Fixture: s.Fixture, PrometheusURL: s.PrometheusURL}}
	ok = true
	return s, nil
}

// withDefaults fills in the options left zero.
func withDefaults(opts Options) Options {
	if opts.BinDir == "" {
		opts.BinDir = filepath.Join(opts.RepoRoot, ".cache", "bin")
	}
	if opts.Scrape == 0 {
		opts.Scrape = 5 * time.Second
	}
	if opts.TraceSampling == 0 {
		opts.TraceSampling = 0.25
	}
	return opts
}

// startTracing starts Jaeger and returns the tracer the simulator sends spans with; none with
// NoTracing.
func (s *Sandbox) startTracing(ctx context.Context, opts Options) (*sim.Tracer, error) {
	if opts.NoTracing {
		return nil, nil
	}
	jaeger, err := StartJaeger(ctx, opts.BinDir, opts.Dir)
	if err != nil {
		return nil, err
	}
	s.stop = append(s.stop, jaeger.Stop)
	s.JaegerURL = jaeger.QueryURL
	return &sim.Tracer{Endpoint: jaeger.OTLPURL, SampleRate: opts.TraceSampling, DropsContext: map[string]bool{DropsTraceContext: true}}, nil
}

// runSimulator runs s.Simulator until Stop; the context ends with it, and the channel says why
// it stopped early.
func (s *Sandbox) runSimulator() (context.Context, <-chan error) {
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stop = append(s.stop, func() { cancel(); <-done })
	simErr := make(chan error, 1)
	go func() {
		defer close(done)
		simErr <- s.Simulator.Run(runCtx)
	}()
	return runCtx, simErr
}

func (s *Sandbox) startCluster(ctx context.Context, opts Options) error {
	dir := filepath.Join(opts.Dir, "cluster")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c, err := testcluster.Start(ctx, testcluster.Options{BinDir: opts.BinDir, Dir: dir})
	if err != nil {
		return err
	}
	s.Cluster = c
	s.stop = append(s.stop, c.Stop)
	admin, err := c.RESTConfig("admin")
	if err != nil {
		return err
	}
	if err := testcluster.InstallMeshCRDs(ctx, admin, opts.RepoRoot); err != nil {
		return err
	}
	if s.Fixture, err = testcluster.NewFixture(admin); err != nil {
		return err
	}
	return LoadBookinfo(ctx, s.Fixture)
}

// GatewayAPINamespace runs bookinfo as Istio's Gateway API tasks lay it out; AmbientNamespace
// as its ambient getting-started does.
const (
	GatewayAPINamespace = "bookinfo-gateway-api"
	AmbientNamespace    = "bookinfo-ambient"
)

// LoadBookinfo deploys the tutorial's mesh: the ingress gateway and istiod; bookinfo in default
// (labelled for injection, DestinationRules for every subset, no VirtualService yet, so
// reviews' traffic spreads over v1, v2 and v3; reviews-v3 is slower), exposed through
// bookinfo-gateway; ratings' database over TCP; a client without a sidecar in legacy; and
// bookinfo again in bookinfo-gateway-api, with a Service per version and an HTTPRoute sending
// reviews' traffic to reviews-v1.
func LoadBookinfo(ctx context.Context, f *testcluster.Fixture) error {
	if err := f.LoadIngressGateway(ctx); err != nil {
		return err
	}
	// One istiod replica with no PodDisruptionBudget and no revision: no ops planning.
	if err := f.LoadControlPlane(ctx, 1); err != nil {
		return err
	}
	if err := f.EnsureNamespace(ctx, "default", map[string]string{"istio-injection": "enabled"}); err != nil {
		return err
	}
	workloads := append([]testcluster.Workload{}, testcluster.Bookinfo...)
	for i := range workloads {
		if workloads[i].App == "reviews" && workloads[i].Version == "v3" {
			workloads[i].Annotations = map[string]string{sim.LatencyAnnotation: "45"}
		}
	}
	// ratings' database as a StatefulSet with a sidecar: the tutorial's restart-issue antipattern.
	workloads = append(workloads, testcluster.Workload{App: "mongodb", Version: "v1", ServiceAccount: "bookinfo-mongodb", Replicas: 1, Ready: 1, Port: 27017, TCP: true, StatefulSet: true})
	if err := f.LoadApp(ctx, "default", workloads...); err != nil {
		return err
	}
	if err := f.LoadBookinfoGateway(ctx, "default"); err != nil {
		return err
	}
	if err := f.EnsureNamespace(ctx, "legacy", nil); err != nil {
		return err
	}
	if err := f.LoadApp(ctx, "legacy", testcluster.Workload{App: "curl-client", ServiceAccount: "curl-client", Replicas: 1, Ready: 1, NoSidecar: true}); err != nil {
		return err
	}
	if err := loadDoctorExamples(ctx, f); err != nil {
		return err
	}
	if err := f.LoadBookinfoVersions(ctx, GatewayAPINamespace, "sidecar"); err != nil {
		return err
	}
	if err := f.LoadReviewsHTTPRoute(ctx, GatewayAPINamespace); err != nil {
		return err
	}
	return LoadBookinfoAmbient(ctx, f)
}

// LoadBookinfoAmbient deploys bookinfo in ambient mode, as Istio's ambient getting-started
// does, in bookinfo-ambient: no sidecars (ztunnel carries the traffic), a Service per version,
// a waypoint named waypoint that Service reviews uses, an HTTPRoute for reviews, and a Gateway
// API gateway (bookinfo-gateway, class istio) routing to productpage.
func LoadBookinfoAmbient(ctx context.Context, f *testcluster.Fixture) error {
	ns := AmbientNamespace
	if err := f.LoadZtunnel(ctx); err != nil {
		return err
	}
	if err := f.LoadBookinfoVersions(ctx, ns, "ambient"); err != nil {
		return err
	}
	if err := f.LoadGatewayAPIGateway(ctx, ns, "waypoint", "istio-waypoint"); err != nil {
		return err
	}
	if err := f.LabelService(ctx, ns, "reviews", map[string]string{"istio.io/use-waypoint": "waypoint"}); err != nil {
		return err
	}
	if err := f.LoadReviewsHTTPRoute(ctx, ns); err != nil {
		return err
	}
	if err := f.LoadGatewayAPIGateway(ctx, ns, "bookinfo-gateway", "istio"); err != nil {
		return err
	}
	return f.LoadRoute(ctx, ns, "bookinfo", "Gateway", "bookinfo-gateway", "productpage", 9080)
}

// serveMetrics exposes every simulated sidecar's /stats/prometheus on one loopback port.
func (s *Sandbox) serveMetrics() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Simulator.Metrics.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	s.stop = append(s.stop, func() { _ = srv.Close() })
	return l.Addr().String(), nil
}

// writeTargets keeps Prometheus's file-based discovery in step with the sidecars: one target
// per pod with a proxy, as the kubernetes-pods job of an Istio install would find them; only
// cluster's pods when it is set (on their paths with the cluster), as a Prometheus in each
// cluster would.
func (s *Sandbox) writeTargets(ctx context.Context, file, addr string, every time.Duration, cluster string) {
	if every == 0 {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := ""
	for {
		if m := s.Simulator.Mesh(); m != nil {
			type group struct {
				Targets []string          `json:"targets"`
				Labels  map[string]string `json:"labels"`
			}
			var groups []group
			for _, w := range m.Workloads {
				if !w.Sidecar || (cluster != "" && w.Cluster != cluster) {
					continue
				}
				for _, p := range w.Pods {
					path := "/stats/prometheus/" + p.Namespace + "/" + p.Name
					if cluster != "" {
						path = sim.MetricsPath(cluster, p.Namespace, p.Name)
					}
					groups = append(groups, group{Targets: []string{addr}, Labels: map[string]string{
						"__metrics_path__": path,
						"namespace":        p.Namespace, "pod": p.Name,
					}})
				}
			}
			sort.Slice(groups, func(i, j int) bool {
				return groups[i].Labels["pod"]+groups[i].Labels["namespace"] < groups[j].Labels["pod"]+groups[j].Labels["namespace"]
			})
			data, _ := json.Marshal(groups)
			if string(data) != last {
				tmp := file + ".tmp"
				if os.WriteFile(tmp, data, 0o644) == nil && os.Rename(tmp, file) == nil {
					last = string(data)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Sandbox) startPrometheus(opts Options, targets string) error {
	if err := os.WriteFile(targets, []byte("[]"), 0o644); err != nil {
		return err
	}
	url, err := s.runPrometheus(opts.BinDir, opts.Dir, scrapeConfig(opts.Scrape, targets, ""))
	if err != nil {
		return err
	}
	s.PrometheusURL = url
	return nil
}

// waitForTraffic polls the Prometheus at base until request rates can be computed (two
// scrapes).
func waitForTraffic(ctx context.Context, base string, simErr <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := QueryURL(ctx, base, "sum(rate(istio_requests_total[1m]))", time.Now())
		if err == nil && n > 0 {
			return nil
		}
		select {
		case err := <-simErr:
			return fmt.Errorf("the simulator stopped: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("no traffic in Prometheus %s after 2m (last: %v)", base, err)
		case <-tick.C:
		}
	}
}

// Stop ends everything Start began, newest first.
func (s *Sandbox) Stop() {
	for i := len(s.stop) - 1; i >= 0; i-- {
		s.stop[i]()
	}
	s.stop = nil
}
