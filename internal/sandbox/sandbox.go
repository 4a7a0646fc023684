// Package sandbox runs a mesh on a laptop with no cluster and no containers: the real control
// plane pieces (etcd, kube-apiserver with Istio's CRDs, Prometheus) and the simulated data
// plane of package sim, with bookinfo deployed as the Istio tutorial deploys it.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
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

	stop       []func()
	prometheus *exec.Cmd
}

// Start brings everything up and returns once Prometheus has scraped the first traffic.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.BinDir == "" {
		opts.BinDir = filepath.Join(opts.RepoRoot, ".cache", "bin")
	}
	if opts.Scrape == 0 {
		opts.Scrape = 5 * time.Second
	}
	if opts.Entries == nil {
		opts.Entries = sim.Bookinfo()
	}
	if opts.TraceSampling == 0 {
		opts.TraceSampling = 0.25
	}
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
	var tracer *sim.Tracer
	if !opts.NoTracing {
		jaeger, err := StartJaeger(ctx, opts.BinDir, opts.Dir)
		if err != nil {
			return nil, err
		}
		s.stop = append(s.stop, jaeger.Stop)
		s.JaegerURL = jaeger.QueryURL
		tracer = &sim.Tracer{Endpoint: jaeger.OTLPURL, SampleRate: opts.TraceSampling, DropsContext: map[string]bool{DropsTraceContext: true}}
	}
	targets := filepath.Join(opts.Dir, "targets.json")
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stop = append(s.stop, func() { cancel(); <-done })
	s.Simulator = &sim.Simulator{Kube: s.Fixture.Kube, Istio: s.Fixture.Istio, Dynamic: s.Fixture.Dynamic, Metrics: sim.NewMetrics(), Entries: opts.Entries, Refresh: opts.Refresh, Tracer: tracer}
	simErr := make(chan error, 1)
	go func() {
		defer close(done)
		simErr <- s.Simulator.Run(runCtx)
	}()
	go s.writeTargets(runCtx, targets, metricsAddr, opts.Refresh)
	if err := s.startPrometheus(opts, targets); err != nil {
		return nil, err
	}
	if err := s.waitForTraffic(ctx, simErr); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
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
// per pod with a proxy, as the kubernetes-pods job of an Istio install would find them.
func (s *Sandbox) writeTargets(ctx context.Context, file, addr string, every time.Duration) {
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
				if !w.Sidecar {
					continue
				}
				for _, p := range w.Pods {
					groups = append(groups, group{Targets: []string{addr}, Labels: map[string]string{
						"__metrics_path__": "/stats/prometheus/" + p.Namespace + "/" + p.Name,
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
	bin := filepath.Join(opts.BinDir, "prometheus")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("prometheus not found in %s: build it with `hack/build-test-components.sh prometheus`", opts.BinDir)
	}
	if err := os.WriteFile(targets, []byte("[]"), 0o644); err != nil {
		return err
	}
	config := fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
- job_name: envoy-stats
  file_sd_configs:
  - files: [%q]
    refresh_interval: 1s
`, opts.Scrape, opts.Scrape, targets)
	configFile := filepath.Join(opts.Dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.Create(filepath.Join(opts.Dir, "prometheus.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(opts.Dir, "prometheus-data"),
		"--web.listen-address="+addr,
		"--storage.tsdb.retention.time=1d",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	testcluster.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting prometheus: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	s.stop = append(s.stop, func() { _ = cmd.Process.Signal(os.Interrupt); <-exited })
	s.prometheus = cmd
	s.PrometheusURL = "http://" + addr
	return nil
}

// waitForTraffic polls Prometheus until request rates can be computed (two scrapes).
func (s *Sandbox) waitForTraffic(ctx context.Context, simErr <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := s.Query(ctx, "sum(rate(istio_requests_total[1m]))")
		if err == nil && n > 0 {
			return nil
		}
		select {
		case err := <-simErr:
			return fmt.Errorf("the simulator stopped: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("no traffic in Prometheus after 2m (last: %v)", err)
		case <-tick.C:
		}
	}
}

// Query evaluates an instant PromQL query that yields one number (0 when it yields nothing).
func (s *Sandbox) Query(ctx context.Context, promql string) (float64, error) {
	return s.QueryAt(ctx, promql, time.Now())
}

// QueryAt is Query evaluated at an instant.
func (s *Sandbox) QueryAt(ctx context.Context, promql string, at time.Time) (float64, error) {
	q := url.Values{"query": {promql}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.PrometheusURL+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, errors.New(body.Error)
	}
	if len(body.Data.Result) == 0 {
		return 0, nil
	}
	var v float64
	_, err = fmt.Sscan(fmt.Sprint(body.Data.Result[0].Value[1]), &v)
	return v, err
}

// Stop ends everything Start began, newest first.
func (s *Sandbox) Stop() {
	for i := len(s.stop) - 1; i >= 0; i-- {
		s.stop[i]()
	}
	s.stop = nil
}
