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

// The same edge seen in two clusters of a mesh is two observations, each with the clusters
// of both ends: each is decided by its destination cluster's policies.
func TestObservedEdgesKeepsClustersApart(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
		var result []string
		if strings.Contains(q, "istio_requests_total") {
			for _, to := range []string{"cluster-east", "cluster-west"} {
				result = append(result, sample(5, edgeLabelsOf("destination", "web-v1", "spiffe://cluster.local/ns/shop/sa/web", "api-v1", "mutual_tls", "http",
					"response_code", "200", "source_cluster", "cluster-east", "destination_cluster", to)...))
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(result, ","))
	}))
	defer srv.Close()
	prom, err := Locator{FlagURL: srv.URL}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := prom.ObservedEdges(context.Background(), nil, "1h", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source.Cluster != "cluster-east" || got[0].Destination.Cluster != "cluster-east" || got[1].Destination.Cluster != "cluster-west" {
		t.Errorf("edges %+v, want one per destination cluster, from cluster-east", got)
	}
	for _, q := range queries {
		if !strings.Contains(q, "source_cluster") || !strings.Contains(q, "destination_cluster") {
			t.Errorf("query %q does not group by the clusters", q)
		}
	}
}
