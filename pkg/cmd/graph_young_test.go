package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeEdgePrometheus answers every query with one HTTP edge, and the series lookup with Istio's
// metrics only when young is false: with young, its data begins inside any window.
func fakeEdgePrometheus(t *testing.T, young bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/series" {
			if young {
				_, _ = w.Write([]byte(`{"status":"success","data":[]}`))
			} else {
				_, _ = w.Write([]byte(`{"status":"success","data":[{"__name__":"istio_requests_total"}]}`))
			}
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"reporter":"destination","source_workload":"web","source_workload_namespace":"shop","source_app":"web","destination_workload":"api","destination_workload_namespace":"shop","destination_app":"api","destination_service":"api.shop.svc.cluster.local","request_protocol":"http","response_code":"200","response_flags":"-","connection_security_policy":"mutual_tls"},"value":[1700000000,"4"]}]}}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// While Prometheus holds less than the window, graph says its rates read low.
func TestGraphNotesDataYoungerThanTheWindow(t *testing.T) {
	stdout, stderr, code := run(nil, "graph", "-n", "shop", "--prometheus-url", fakeEdgePrometheus(t, true))
	if code != 0 || !strings.Contains(stdout, "shop/web") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if want := "note: Prometheus's Istio metrics begin less than 5m ago: the rates are averaged over all of --window 5m and read low; pass a shorter --window\n"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want it to contain %q", stderr, want)
	}
	_, stderr, _ = run(nil, "graph", "-n", "shop", "--prometheus-url", fakeEdgePrometheus(t, false))
	if strings.Contains(stderr, "note:") {
		t.Errorf("data older than the window, yet: %q", stderr)
	}
}
