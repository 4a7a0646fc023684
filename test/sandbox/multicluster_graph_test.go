//go:build e2e

package sandbox_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// meshKubectl runs kubectl (our plugins first on PATH) with a kubeconfig of the clusters.
func meshKubectl(t *testing.T, kubeconfig string, args ...string) run {
	t.Helper()
	return kubectlWith(t, plugins(t), kubeconfig, args...)
}

type clusterGraph struct {
	Clusters []struct{ ID, Context string } `json:"clusters"`
	Edges    []struct {
		Source, Destination struct{ Cluster, Namespace, Workload string }
		Protocol            string  `json:"protocol"`
		RPS                 float64 `json:"rps"`
		BytesPerSecond      float64 `json:"bytesPerSecond"`
		CrossCluster        bool    `json:"crossCluster"`
		Reporter            string  `json:"reporter"`
	} `json:"edges"`
}

// rates are the edges' rates (TCP: bytes) by name, clusters included; an edge named twice is kept as "(again)".
func (g clusterGraph) rates() map[string]float64 {
	out := map[string]float64{}
	for _, e := range g.Edges {
		key := fmt.Sprintf("%s/%s/%s -> %s/%s/%s %s", e.Source.Cluster, e.Source.Namespace, e.Source.Workload, e.Destination.Cluster, e.Destination.Namespace, e.Destination.Workload, e.Protocol)
		rate := e.RPS
		if e.Protocol == "tcp" {
			rate = e.BytesPerSecond
		}
		if _, dup := out[key]; dup {
			out[key+" (again)"] = rate
		}
		out[key] = rate
	}
	return out
}

// graphAcrossClusters draws the two clusters' graph through both paths a production mesh
// offers, each cluster's own Prometheus and one federating both, at one instant, and checks
// the figures against PromQL over the same data.
func graphAcrossClusters(t *testing.T, sb *sandbox.Sandbox) {
	east, west := sb.Member(sandbox.EastID), sb.Member(sandbox.WestID)
	cross := fmt.Sprintf("%s/default/productpage-v1 -> %s/default/reviews-v3 http", sandbox.EastID, sandbox.WestID)
	promql := fmt.Sprintf(`sum(rate(istio_requests_total{reporter="destination",source_cluster=%q,source_workload="productpage-v1",destination_cluster=%q,destination_workload="reviews-v3"}[30s])) or vector(0)`, sandbox.EastID, sandbox.WestID)
	at, want := settledInstant(t, sb, promql)
	stamp := fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)
	graphVia := func(urls ...string) (clusterGraph, run) {
		args := []string{"mesh", "graph", "-A", "--contexts", "east,west", "--window", "30s", "--time", stamp, "-o", "json"}
		for _, u := range urls {
			args = append(args, "--prometheus-url", u)
		}
		r := meshKubectl(t, sb.Kubeconfig, args...)
		var g clusterGraph
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &g) != nil {
			t.Fatalf("graph --contexts via %v:\n%+v", urls, r)
		}
		return g, r
	}
	perCluster, _ := graphVia(sandbox.EastID+"="+east.PrometheusURL, sandbox.WestContext+"="+west.PrometheusURL)
	global, _ := graphVia(sb.GlobalPrometheusURL)

	// Each path's figure against PromQL over the data that path read: the callee's report,
	// in west's own Prometheus or in the global one.
	wantPerCluster, err := sandbox.QueryURL(t.Context(), west.PrometheusURL, promql, at)
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]struct {
		g    clusterGraph
		want float64
	}{"per-cluster Prometheus": {perCluster, wantPerCluster}, "global Prometheus": {global, want}} {
		g := path.g
		rates := g.rates()
		got, ok := rates[cross]
		if !ok {
			t.Fatalf("%s: no edge %s in %v", name, cross, rates)
		}
		if _, twice := rates[cross+" (again)"]; twice {
			t.Errorf("%s: the cross-cluster call is two edges", name)
		}
		if !within(got/path.want, 1, 0.05) {
			t.Errorf("%s: %s at %.3f rps, PromQL over the same data says %.3f", name, cross, got, path.want)
		}
		for _, e := range g.Edges {
			if e.Source.Workload == "productpage-v1" && e.Destination.Workload == "reviews-v3" && (!e.CrossCluster || e.Reporter != "destination") {
				t.Errorf("%s: the cross-cluster edge is not marked, or not from the callee's report: %+v", name, e)
			}
		}
		if len(g.Clusters) != 2 || g.Clusters[0].ID != sandbox.EastID || g.Clusters[0].Context != "east" {
			t.Errorf("%s: clusters %+v", name, g.Clusters)
		}
	}
	// The same edges through both paths. Their figures come from two Prometheus servers whose
	// samples are not taken at the same instants (federation copies each cluster's latest
	// sample every second), so a rate over 30s may differ by a few percent: within 10%.
	globalRates := global.rates()
	for key, rps := range perCluster.rates() {
		if other, ok := globalRates[key]; !ok || !within(other/rps, 1, 0.10) {
			t.Errorf("%s: %.3f per cluster, %.3f (present: %v) through the global Prometheus", key, rps, other, ok)
		}
	}
	if len(globalRates) != len(perCluster.rates()) {
		t.Errorf("the global path has %d edges, the per-cluster path %d", len(globalRates), len(perCluster.rates()))
	}

	// A cluster that does not answer is named, and the others are drawn.
	down := meshKubectl(t, withGoneContext(t, sb.Kubeconfig), "mesh", "graph", "-A", "--contexts", "east,west,gone", "--window", "30s", "--prometheus-url", sb.GlobalPrometheusURL)
	if down.code != 0 || !strings.Contains(down.stderr, "gone") || !strings.Contains(down.stdout, sandbox.WestID+"/default/reviews-v3") {
		t.Errorf("graph with an unreachable cluster:\n%+v", down)
	}
}

// settledInstant waits until every Prometheus holds a whole window of samples of every edge
// (rates over the window agree only then; the global one federates each cluster's from its
// first scrape on): 25 of the 30 one-second scrapes of each cluster's series, in its own
// Prometheus and in the global one. It returns an instant every Prometheus has scraped and
// the global one has federated, and promql's value there on the global one.
func settledInstant(t *testing.T, sb *sandbox.Sandbox, promql string) (time.Time, float64) {
	t.Helper()
	east, west := sb.Member(sandbox.EastID), sb.Member(sandbox.WestID)
	settled := func(cluster string) string {
		return fmt.Sprintf(`min(count_over_time(istio_requests_total{response_code="200",destination_cluster=%q}[30s])) or vector(0)`, cluster)
	}
	eventuallyAt(t, "a whole window of samples in every Prometheus", func(v []float64) bool { return slices.Min(v) >= 25 },
		[]string{east.PrometheusURL, west.PrometheusURL, sb.GlobalPrometheusURL, sb.GlobalPrometheusURL},
		[]string{settled(sandbox.EastID), settled(sandbox.WestID), settled(sandbox.EastID), settled(sandbox.WestID)})
	var at time.Time
	var want float64
	for deadline := time.Now().Add(time.Minute); want <= 0 && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		at = time.Now().Add(-3 * time.Second)
		var err error
		if want, err = sandbox.QueryURL(t.Context(), sb.GlobalPrometheusURL, promql, at); err != nil {
			t.Fatal(err)
		}
	}
	if want <= 0 {
		t.Fatalf("no cross-cluster traffic in the global Prometheus within a minute: %s", promql)
	}
	return at, want
}

// withGoneContext is a copy of kubeconfig with one more context, gone, whose API server does
// not answer (nothing listens on port 1 of loopback).
func withGoneContext(t *testing.T, kubeconfig string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clusters["gone"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}
	cfg.AuthInfos["gone"] = &clientcmdapi.AuthInfo{Token: "none"}
	cfg.Contexts["gone"] = &clientcmdapi.Context{Cluster: "gone", AuthInfo: "gone"}
	path := filepath.Join(t.TempDir(), "kubeconfig-with-gone")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMultiClusterGraph(t *testing.T) {
	graphAcrossClusters(t, multiSandbox(t))
}
