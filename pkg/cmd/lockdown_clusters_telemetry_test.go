package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// promWithCallers is a Prometheus whose answer to the callers' query is the given series
// (a JSON array of vector samples), and empty for every other query; it counts the queries.
func promWithCallers(t *testing.T, series string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var queries atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		result := "[]"
		if strings.Contains(r.URL.Query().Get("query"), "istio_requests_total") {
			result = series
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":` + result + `}}`))
	}))
	t.Cleanup(s.Close)
	return s, &queries
}

// web in namespace front calls app1 v1 over mTLS, as the destination reports it.
const webCallsApp1 = `[{"metric":{"reporter":"destination","destination_app":"app1","destination_version":"v1",
	"source_principal":"spiffe://cluster.local/ns/front/sa/web","source_workload":"web","source_workload_namespace":"front",
	"connection_security_policy":"mutual_tls","request_protocol":"http"},"value":[1700000000,"0.5"]}]`

// A caller seen only in west's Prometheus is kept in every cluster's plan: traffic may fail
// over to east tomorrow.
func TestLockdownContextsKeepCallersSeenInAnyCluster(t *testing.T) {
	east, _ := promWithCallers(t, "[]")
	west, _ := promWithCallers(t, webCallsApp1)
	root, _, _ := twoLockdownClusters(t)
	stdout, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west", "--dry-run",
		"--prometheus-url", "cluster-east="+east.URL, "--prometheus-url", "west="+west.URL)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	const kept = "  app1-v1 <- front/web (seen in traffic)\n"
	if strings.Count(stdout, kept) != 2 {
		t.Errorf("both clusters' plans should keep front/web:\n%s\n%s", stdout, stderr)
	}
}

// One Prometheus for the whole mesh is asked once, and both clusters keep what it saw.
func TestLockdownContextsAskTheMeshPrometheusOnce(t *testing.T) {
	global, queries := promWithCallers(t, webCallsApp1)
	root, _, _ := twoLockdownClusters(t)
	stdout, stderr, code := run(root, "lockdown", "shop", "--contexts", "east,west", "--dry-run", "--prometheus-url", global.URL)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.Count(stdout, "  app1-v1 <- front/web (seen in traffic)\n") != 2 {
		t.Errorf("both clusters' plans should keep front/web:\n%s", stdout)
	}
	if n := queries.Load(); n != 2 { // the requests' query and the connections'
		t.Errorf("%d queries, want 2", n)
	}
}
