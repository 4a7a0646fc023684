//go:build e2e

package sandbox_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// A lockdown of both clusters keeps the callers each cluster's telemetry saw, the cross-cluster
// ones with their own identities: productpage in east calls reviews-v3 in west, which west's
// destination report names by productpage's principal. Through each cluster's Prometheus or one
// federating both, west's plan keeps it; once written in both, the cross-cluster calls still
// pass (no 403) and the clusters agree; undo puts both back.
func TestMultiClusterLockdownKeepsCrossClusterCallers(t *testing.T) {
	sb := multiSandbox(t)
	east, west := sb.Member(sandbox.EastID), sb.Member(sandbox.WestID)
	cross := fmt.Sprintf(`sum(rate(istio_requests_total{reporter="destination",source_cluster=%q,destination_cluster=%q,destination_workload="reviews-v3",response_code=~"2.."}[5s])) or vector(0)`, sandbox.EastID, sandbox.WestID)
	denied := `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="default",response_code="403"}[5s])) or vector(0)`
	eventuallyAt(t, "cross-cluster calls in west's Prometheus and the global one", func(v []float64) bool { return v[0] > 0 && v[1] > 0 },
		[]string{west.PrometheusURL, sb.GlobalPrometheusURL}, []string{cross, cross})

	// reviews-v3 runs in west only; its caller, productpage, in east.
	kept := regexp.MustCompile(`(?m)^  reviews-v3 <- default/\S+ \(seen in traffic\)$`)
	perCluster := []string{"--prometheus-url", sandbox.EastID + "=" + east.PrometheusURL, "--prometheus-url", sandbox.WestContext + "=" + west.PrometheusURL}
	for name, flags := range map[string][]string{"each cluster's Prometheus": perCluster, "the global Prometheus": {"--prometheus-url", sb.GlobalPrometheusURL}} {
		r := meshKubectl(t, sb.Kubeconfig, append([]string{"mesh", "lockdown", "default", "--contexts", "east,west", "--window", "2m", "--dry-run"}, flags...)...)
		_, westPlan, found := strings.Cut(r.stdout, "==> cluster cluster-west (context west) <==")
		if r.code != 0 || !found || !kept.MatchString(westPlan) {
			t.Errorf("through %s, west's plan does not keep productpage's calls into reviews-v3:\n%+v", name, r)
		}
		// Each edge is shown in the cluster where its destination runs.
		if strings.Contains(r.stdout, "no running workload") {
			t.Errorf("through %s, an edge is shown in a cluster where its destination does not run:\n%s", name, r.stdout)
		}
	}

	r := meshKubectl(t, sb.Kubeconfig, append([]string{"mesh", "lockdown", "default", "--contexts", "east,west", "--window", "2m"}, perCluster...)...)
	if r.code != 0 {
		t.Fatalf("lockdown --contexts east,west:\n%+v", r)
	}
	lockedAt := time.Now()
	t.Cleanup(func() {
		meshKubectl(t, sb.Kubeconfig, "mesh", "lockdown", "default", "--contexts", "east,west", "--undo")
	})
	status := meshKubectl(t, sb.Kubeconfig, "mesh", "lockdown", "default", "--contexts", "east,west", "--status")
	if status.code != 0 || strings.Count(status.stdout, "locked down:    yes") != 2 {
		t.Errorf("status after the lockdown of both:\n%+v", status)
	}
	// Once every sidecar has the policies and a whole window has passed since: calls still
	// cross, and nothing in the namespace is denied, in either cluster.
	for time.Since(lockedAt) < 8*time.Second {
		time.Sleep(time.Second)
	}
	eventuallyAt(t, "cross-cluster calls passing under the lockdown, no 403 in either cluster", func(v []float64) bool { return v[0] > 0 && v[1] == 0 && v[2] == 0 },
		[]string{west.PrometheusURL, east.PrometheusURL, west.PrometheusURL}, []string{cross, denied, denied})

	undo := meshKubectl(t, sb.Kubeconfig, "mesh", "lockdown", "default", "--contexts", "east,west", "--undo")
	if undo.code != 0 || strings.Count(undo.stdout, "deleted: created by lockdown") < 6 {
		t.Errorf("undo in both:\n%+v", undo)
	}
}
