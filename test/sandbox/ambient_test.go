//go:build e2e

package sandbox_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// In ambient mode, through real kubectl: graph shows the waypoint's calls and ztunnel's
// connections, each once; lockdown keeps every meshed call working (no 403 at the waypoint,
// no DENY at ztunnel for a meshed caller) and cuts the plaintext client off; undo lets it back.
func TestAmbientInTheSandbox(t *testing.T) {
	sb := startSandbox(t)
	path := plugins(t)
	ns := sandbox.AmbientNamespace
	ztunnel := func(selector string) string {
		return fmt.Sprintf(`sum(rate(istio_tcp_connections_opened_total{reporter="destination",destination_workload_namespace=%q,%s}[5s])) or vector(0)`, ns, selector)
	}
	waypoint := func(selector string) string {
		return fmt.Sprintf(`sum(rate(istio_requests_total{reporter="waypoint",destination_workload_namespace=%q,%s}[5s])) or vector(0)`, ns, selector)
	}
	eventually(t, sb, "ambient traffic reported by ztunnel and the waypoint", func(v []float64) bool { return v[0] > 0 && v[1] > 0 && v[2] > 0 },
		waypoint(`destination_workload="reviews-v1",response_code="200"`),
		ztunnel(`destination_workload="details-v1",connection_security_policy="mutual_tls"`),
		ztunnel(`destination_workload="productpage-v1",connection_security_policy="unknown"`))

	g := graphOf(t, path, sb, "-n", ns, "--window", "30s")
	var viaWaypoint, plaintext bool
	for _, e := range g.Edges {
		if strings.HasSuffix(e.Source.Workload, "waypoint") || e.Destination.Workload == "waypoint" {
			t.Errorf("the waypoint's hop is an edge of its own: %+v", e)
		}
		viaWaypoint = viaWaypoint || e.Destination.Workload == "reviews-v1" && e.Waypoint == ns+"/waypoint" && e.Reporter == "waypoint"
		plaintext = plaintext || e.Destination.Workload == "productpage-v1" && e.Source.Workload == "unknown" && e.Protocol == "tcp"
	}
	if !viaWaypoint || !plaintext {
		t.Errorf("graph -n %s: want productpage -> reviews-v1 through the waypoint and the plaintext TCP edge; got %+v", ns, g.Edges)
	}

	r := kubectl(t, path, sb, "mesh", "lockdown", ns, "--window", "1m", "--prometheus-url", sb.PrometheusURL)
	if r.code != 1 || !strings.Contains(r.stderr, ns+"/productpage-v1 receives plaintext traffic") || !strings.Contains(r.stderr, "legacy/curl-client") {
		t.Fatalf("want the plaintext caller named before anything is written: %+v", r)
	}
	r = kubectl(t, path, sb, "mesh", "lockdown", ns, "--window", "1m", "--force", "--prometheus-url", sb.PrometheusURL)
	if r.code != 0 || !strings.Contains(r.stdout, "Service reviews, at waypoint "+ns+"/waypoint <- "+ns+"/bookinfo-productpage (seen in traffic)") {
		t.Fatalf("lockdown --force: %+v", r)
	}
	eventually(t, sb, "meshed calls go through, the plaintext client is refused", func(v []float64) bool {
		return v[0] > 0 && v[1] == 0 && v[2] == 0 && v[3] > 0 && v[4] > 0
	},
		waypoint(`response_code="200"`),
		waypoint(`response_code="403"`),
		ztunnel(`response_flags="DENY",source_principal!="unknown"`),
		ztunnel(`response_flags="DENY",connection_security_policy="unknown"`),
		ztunnel(`destination_workload="details-v1",response_flags="-"`))

	if r := kubectl(t, path, sb, "mesh", "lockdown", ns, "--undo"); r.code != 0 {
		t.Fatalf("undo: %+v", r)
	}
	eventually(t, sb, "undo lets the plaintext client back", func(v []float64) bool { return v[0] > 0 && v[1] == 0 },
		ztunnel(`destination_workload="productpage-v1",connection_security_policy="unknown",response_flags="-"`),
		ztunnel(`response_flags="DENY"`))
}
