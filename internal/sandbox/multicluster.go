package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// The two clusters of a sandbox started with Clusters: 2, a multi-primary mesh on two
// networks. Their cluster IDs (istiod's CLUSTER_ID, the telemetry's source_cluster and
// destination_cluster) are deliberately not their kubeconfig contexts' names.
const (
	EastID      = "cluster-east"
	WestID      = "cluster-west"
	EastContext = "east"
	WestContext = "west"
	MeshID      = "mesh1"
)

// Member is one cluster of the sandbox's mesh.
type Member struct {
	ID            string // the cluster ID its istiod runs with
	Context       string // its admin's context in Sandbox.Kubeconfig
	Network       string // its network ("" with one cluster)
	Cluster       *testcluster.Cluster
	Fixture       *testcluster.Fixture
	PrometheusURL string // its own Prometheus: its sidecars' reports only
}

// Query evaluates an instant PromQL query that yields one number on the member's Prometheus.
func (m *Member) Query(ctx context.Context, promql string) (float64, error) {
	return QueryURL(ctx, m.PrometheusURL, promql, time.Now())
}

// Member is the cluster of cluster ID id, nil when the mesh has none.
func (s *Sandbox) Member(id string) *Member {
	for _, m := range s.Members {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// QueryGlobal evaluates an instant PromQL query that yields one number on the Prometheus that
// federates every cluster's.
func (s *Sandbox) QueryGlobal(ctx context.Context, promql string) (float64, error) {
	return QueryURL(ctx, s.GlobalPrometheusURL, promql, time.Now())
}

// TwoClusterBookinfo is the traffic of a sandbox of two clusters: east's ingress gateway at
// 10 requests per second into productpage, whose calls to reviews reach v3 in west.
func TwoClusterBookinfo() []sim.Entry {
	return []sim.Entry{{Cluster: EastID, Namespace: "istio-system", App: "istio-ingressgateway", RPS: 10}}
}

// startClusters is Start for a mesh of two clusters: two API servers (dir cluster1, cluster2)
// with bookinfo split between them (LoadTwoClusterBookinfo), one kubeconfig with contexts east
// and west, a Prometheus per cluster scraping its own sidecars, and a global Prometheus
// federating both. Cluster, Fixture and PrometheusURL are east's.
func startClusters(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Clusters != 2 {
		return nil, fmt.Errorf("the sandbox runs 1 or 2 clusters, not %d", opts.Clusters)
	}
	if opts.Entries == nil {
		opts.Entries = TwoClusterBookinfo()
	}
	opts = withDefaults(opts)
	s := &Sandbox{Members: []*Member{
		{ID: EastID, Context: EastContext, Network: "network-east"},
		{ID: WestID, Context: WestContext, Network: "network-west"},
	}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if err := s.startMembers(ctx, opts); err != nil {
		return nil, err
	}
	east := s.Members[0]
	s.Cluster, s.Fixture = east.Cluster, east.Fixture
	metricsAddr, err := s.serveMetrics()
	if err != nil {
		return nil, err
	}
	tracer, err := s.startTracing(ctx, opts)
	if err != nil {
		return nil, err
	}
	var sources []sim.ClusterSource
	for _, m := range s.Members {
		sources = append(sources, sim.ClusterSource{ID: m.ID, Kube: m.Fixture.Kube, Istio: m.Fixture.Istio, Dynamic: m.Fixture.Dynamic})
	}
	s.Simulator = &sim.Simulator{Clusters: sources, Metrics: sim.NewMetrics(), Entries: opts.Entries, Refresh: opts.Refresh, Tracer: tracer}
	runCtx, simErr := s.runSimulator()
	if err := s.startMemberPrometheus(runCtx, opts, metricsAddr); err != nil {
		return nil, err
	}
	s.PrometheusURL = east.PrometheusURL
	for _, url := range []string{east.PrometheusURL, s.Members[1].PrometheusURL, s.GlobalPrometheusURL} {
		if err := waitForTraffic(ctx, url, simErr); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// startMembers starts the clusters side by side, loads each one's part of the mesh, and
// writes the kubeconfig that reaches both.
func (s *Sandbox) startMembers(ctx context.Context, opts Options) error {
	errs := make([]error, len(s.Members))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, m := range s.Members {
		wg.Go(func() {
			dir := filepath.Join(opts.Dir, fmt.Sprintf("cluster%d", i+1))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				errs[i] = err
				return
			}
			c, err := testcluster.Start(ctx, testcluster.Options{BinDir: opts.BinDir, Dir: dir})
			if c != nil {
				mu.Lock()
				s.stop = append(s.stop, c.Stop)
				mu.Unlock()
			}
			if err != nil {
				errs[i] = fmt.Errorf("cluster %s: %w", m.Context, err)
				return
			}
			m.Cluster = c
			if errs[i] = m.install(ctx, opts.RepoRoot); errs[i] != nil {
				errs[i] = fmt.Errorf("cluster %s: %w", m.Context, errs[i])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := LoadTwoClusterBookinfo(ctx, s.Members[0].Fixture, s.Members[1].Fixture); err != nil {
		return err
	}
	s.Kubeconfig = filepath.Join(opts.Dir, "kubeconfig")
	var members []testcluster.MeshMember
	for _, m := range s.Members {
		members = append(members, testcluster.MeshMember{Context: m.Context, Cluster: m.Cluster})
	}
	return testcluster.WriteMeshKubeconfig(s.Kubeconfig, members...)
}

// install puts Istio's CRDs and a primary's control plane (istiod with the member's cluster
// ID, the mesh ID, its network and east-west gateway) into the member's API server.
func (m *Member) install(ctx context.Context, repoRoot string) error {
	admin, err := m.Cluster.RESTConfig("admin")
	if err != nil {
		return err
	}
	if err := testcluster.InstallMeshCRDs(ctx, admin, repoRoot); err != nil {
		return err
	}
	if m.Fixture, err = testcluster.NewFixture(admin); err != nil {
		return err
	}
	id := testcluster.ClusterIdentity{ID: m.ID, MeshID: MeshID, Network: m.Network}
	if err := m.Fixture.LoadClusterControlPlane(ctx, 1, id); err != nil {
		return err
	}
	return m.Fixture.LoadEastWestGateway(ctx, m.Network)
}

// startMemberPrometheus starts each cluster's Prometheus (in its cluster's directory, scraping
// only its sidecars, as discovery in that cluster would find them) and the global one (in
// dir global) federating them.
func (s *Sandbox) startMemberPrometheus(runCtx context.Context, opts Options, metricsAddr string) error {
	var urls []string
	for i, m := range s.Members {
		dir := filepath.Join(opts.Dir, fmt.Sprintf("cluster%d", i+1))
		targets := filepath.Join(dir, "targets.json")
		if err := os.WriteFile(targets, []byte("[]"), 0o644); err != nil {
			return err
		}
		go s.writeTargets(runCtx, targets, metricsAddr, opts.Refresh, m.ID)
		url, err := s.runPrometheus(opts.BinDir, dir, scrapeConfig(opts.Scrape, targets, m.ID))
		if err != nil {
			return err
		}
		m.PrometheusURL = url
		urls = append(urls, url)
	}
	dir := filepath.Join(opts.Dir, "global")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	url, err := s.runPrometheus(opts.BinDir, dir, federateConfig(opts.Scrape, urls))
	if err != nil {
		return err
	}
	s.GlobalPrometheusURL = url
	return nil
}
