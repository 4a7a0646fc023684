//go:build e2e

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// multiSandbox is the sandbox of two clusters (contexts east and west in sb.Kubeconfig,
// cluster IDs sandbox.EastID and sandbox.WestID): bookinfo in east, reviews-v3 and a ratings
// in west, a Prometheus per cluster (sb.Members[i].PrometheusURL) and a global one federating
// both (sb.GlobalPrometheusURL). It starts on first use and is shared by the tests of the
// package, which run one after another and leave it as they found it; TestMain stops it.
func multiSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	multiOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			multiErr = err
			return
		}
		if multiDir, multiErr = os.MkdirTemp("", "kubectl-mesh-two-clusters-"); multiErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		multi, multiErr = sandbox.Start(ctx, sandbox.Options{
			RepoRoot: root, Dir: multiDir, Clusters: 2, Scrape: time.Second, Refresh: 500 * time.Millisecond, NoTracing: true,
			Entries: []sim.Entry{{Cluster: sandbox.EastID, Namespace: "istio-system", App: "istio-ingressgateway", RPS: 30}},
		})
	})
	if multiErr != nil {
		t.Fatalf("starting the two-cluster sandbox: %v", multiErr)
	}
	return multi
}

var (
	multiOnce sync.Once
	multi     *sandbox.Sandbox
	multiDir  string
	multiErr  error
)

// stopMultiSandbox stops the two-cluster sandbox, when a test started it.
func stopMultiSandbox() {
	if multi != nil {
		multi.Stop()
	}
	if multiDir != "" {
		os.RemoveAll(multiDir)
	}
}

// eventuallyAt polls queries, each on its own Prometheus (urls[i]), until ok accepts the
// values, or fails after a minute with the last ones seen.
func eventuallyAt(t *testing.T, what string, ok func(v []float64) bool, urls, queries []string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last []float64
	for time.Now().Before(deadline) {
		last = last[:0]
		at := time.Now().Add(-2 * time.Second) // scraped by every Prometheus, and federated
		for i, q := range queries {
			v, err := sandbox.QueryURL(t.Context(), urls[i], q, at)
			if err != nil {
				t.Fatalf("%s on %s: %v", q, urls[i], err)
			}
			last = append(last, v)
		}
		if ok(last) {
			return
		}
		time.Sleep(500 * time.Millisecond) // polling Prometheus, not waiting on a guess
	}
	t.Fatalf("%s: not seen within a minute; last values %v for %q", what, last, queries)
}

func TestMultiCluster(t *testing.T) {
	sb := multiSandbox(t)
	east, west := sb.Member(sandbox.EastID), sb.Member(sandbox.WestID)
	if east == nil || west == nil || sb.GlobalPrometheusURL == "" {
		t.Fatalf("members %+v, global Prometheus %q", sb.Members, sb.GlobalPrometheusURL)
	}
	t.Run("contexts reach istiods with their cluster IDs", func(t *testing.T) {
		for _, m := range []*sandbox.Member{east, west} {
			out, err := exec.Command("kubectl", "--kubeconfig", sb.Kubeconfig, "--context", m.Context,
				"get", "deployment", "istiod", "-n", "istio-system", "-o", `jsonpath={.spec.template.spec.containers[0].env[?(@.name=="CLUSTER_ID")].value}`).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != m.ID {
				t.Errorf("context %s: istiod's CLUSTER_ID %q (%v), want %s", m.Context, out, err, m.ID)
			}
		}
	})
	t.Run("each cluster's Prometheus holds its own proxies' reports", func(t *testing.T) {
		for _, m := range []*sandbox.Member{east, west} {
			own := fmt.Sprintf(`count(istio_requests_total{reporter="source",source_cluster=%q} or istio_requests_total{reporter="destination",destination_cluster=%q}) or vector(0)`, m.ID, m.ID)
			foreign := fmt.Sprintf(`count(istio_requests_total{reporter="source",source_cluster!=%q} or istio_requests_total{reporter="destination",destination_cluster!=%q}) or vector(0)`, m.ID, m.ID)
			eventuallyAt(t, m.Context+"'s reporters only", func(v []float64) bool { return v[0] > 0 && v[1] == 0 },
				[]string{m.PrometheusURL, m.PrometheusURL}, []string{own, foreign})
		}
	})
	t.Run("the global Prometheus holds both, labels intact", func(t *testing.T) {
		count := `count(istio_requests_total) or vector(0)`
		cross := `count(istio_requests_total{source_cluster="cluster-east",destination_cluster="cluster-west"}) or vector(0)`
		eventuallyAt(t, "every series of both clusters in the global Prometheus", func(v []float64) bool {
			return v[0] > 0 && v[1] > 0 && v[2] == v[0]+v[1] && v[3] > 0
		}, []string{east.PrometheusURL, west.PrometheusURL, sb.GlobalPrometheusURL, sb.GlobalPrometheusURL}, []string{count, count, count, cross})
	})
	t.Run("cross-cluster calls reported by both ends, each in its cluster", func(t *testing.T) {
		rate := func(reporter string) string {
			return fmt.Sprintf(`sum(rate(istio_requests_total{reporter=%q,source_workload="productpage-v1",source_cluster=%q,destination_workload="reviews-v3",destination_cluster=%q}[30s])) or vector(0)`,
				reporter, sandbox.EastID, sandbox.WestID)
		}
		eventuallyAt(t, "productpage -> reviews-v3 as east's source and west's destination report it", func(v []float64) bool {
			return v[0] > 1 && within(v[1]/v[0], 1, 0.05) && v[2] == 0 && v[3] == 0 && within(v[4]/v[0], 1, 0.05)
		}, []string{east.PrometheusURL, west.PrometheusURL, east.PrometheusURL, west.PrometheusURL, sb.GlobalPrometheusURL},
			[]string{rate("source"), rate("destination"), rate("destination"), rate("source"), rate("destination")})
	})
}
