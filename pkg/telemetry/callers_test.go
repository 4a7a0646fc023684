package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// ObservedCallers keeps who reported each observation: ztunnel and waypoints name the
// destination by canonical revision, sidecars by version label, and lockdown matches pods
// as the reporter names them.
func TestObservedCallersKeepTheReporter(t *testing.T) {
	var (
		mu      sync.Mutex
		queries []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.FormValue("query")
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		result := ""
		switch {
		case strings.Contains(q, "istio_requests_total"):
			result = `{"metric":{"reporter":"waypoint","destination_app":"reviews","destination_version":"1.4.2","source_principal":"spiffe://cluster.local/ns/shop/sa/web","source_workload":"web","source_workload_namespace":"shop","connection_security_policy":"mutual_tls","request_protocol":"http"},"value":[0,"2"]}`
		case strings.Contains(q, "istio_tcp_connections_opened_total"):
			result = `{"metric":{"reporter":"destination","destination_app":"details","destination_version":"latest","source_principal":"unknown","source_workload":"unknown","source_workload_namespace":"unknown","connection_security_policy":"unknown"},"value":[0,"0.5"]}`
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, result)
	}))
	defer srv.Close()
	prom, err := Locator{FlagURL: srv.URL, Timeout: 5 * time.Second}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := prom.ObservedCallers(context.Background(), "amb", "5m", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("observations %+v", got)
	}
	if o := got[0]; o.Reporter != "waypoint" || o.DestinationApp != "reviews" || o.DestinationVersion != "1.4.2" || o.SourcePrincipal != "cluster.local/ns/shop/sa/web" || !o.MTLS {
		t.Errorf("the waypoint's report read as %+v", o)
	}
	if o := got[1]; o.Reporter != "destination" || o.DestinationVersion != "latest" || o.MTLS || o.SourcePrincipal != "" || o.Protocol != "tcp" {
		t.Errorf("ztunnel's report read as %+v", o)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, q := range queries {
		if !strings.HasPrefix(q, "sum by (reporter, destination_app, destination_version,") {
			t.Errorf("query does not keep the reporter: %s", q)
		}
	}
}
