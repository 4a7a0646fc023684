//go:build e2e

package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// why adds what the edge really saw: the requests productpage sent reviews, by response code,
// from the caller's reports in the real Prometheus, and the plaintext client's requests to
// productpage as the destination reported them.
func testWhyObserved(t *testing.T, path string, sb *sandbox.Sandbox) {
	eventually(t, sb, "productpage calling reviews, and plaintext into productpage", func(v []float64) bool { return v[0] > 0 && v[1] > 0 },
		`sum(istio_requests_total{reporter="source",source_canonical_service="productpage",destination_service_name="reviews"})`,
		`sum(istio_requests_total{reporter="destination",source_workload="unknown",destination_service_name="productpage",destination_service_namespace="default"})`)
	for _, tc := range []struct {
		source, destination string
	}{
		{"productpage", "reviews"},
		{"outside", "svc/productpage"},
	} {
		r := kubectl(t, path, sb, "mesh", "why", tc.source, tc.destination, "-n", "default", "--prometheus-url", sb.PrometheusURL, "--window", "10m", "-o", "json")
		if r.code != 0 {
			t.Fatalf("why %s %s: %+v", tc.source, tc.destination, r)
		}
		var report struct {
			Verdict  string `json:"verdict"`
			Observed *struct {
				Requests  float64 `json:"requests"`
				Responses []struct {
					Code     string  `json:"code"`
					Requests float64 `json:"requests"`
				} `json:"responses"`
			} `json:"observed"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
			t.Fatalf("why -o json: %v\n%s", err, r.stdout)
		}
		if report.Observed == nil || report.Observed.Requests <= 0 || len(report.Observed.Responses) == 0 {
			t.Errorf("why %s %s saw nothing of the edge's traffic: %s", tc.source, tc.destination, r.stdout)
		}
	}
	text := kubectl(t, path, sb, "mesh", "why", "productpage", "reviews", "-n", "default", "--prometheus-url", sb.PrometheusURL, "--window", "10m")
	if !strings.Contains(text.stdout, "\nseen in the last 10m: ") {
		t.Errorf("why's table does not say what the edge saw:\n%s", text.stdout)
	}
}
