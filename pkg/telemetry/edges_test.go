package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/whatif"
)

// sample is one series of a vector answer: its labels and value.
func sample(value float64, labels ...string) string {
	pairs := make([]string, 0, len(labels)/2)
	for i := 0; i < len(labels); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%q:%q", labels[i], labels[i+1]))
	}
	return fmt.Sprintf(`{"metric":{%s},"value":[1700000000,"%g"]}`, strings.Join(pairs, ","), value)
}

// edgeLabelsOf are the labels of one edge, and extra ones.
func edgeLabelsOf(reporter, source, principal, destination, security, protocol string, extra ...string) []string {
	sourceNamespace := "shop"
	if source == "unknown" {
		sourceNamespace = "unknown"
	}
	return append([]string{"reporter", reporter, "source_workload", source, "source_workload_namespace", sourceNamespace, "source_principal", principal,
		"destination_workload", destination, "destination_workload_namespace", "shop", "destination_app", strings.TrimSuffix(destination, "-v1"),
		"destination_version", "v1", "destination_service_name", strings.TrimSuffix(destination, "-v1"), "destination_service_namespace", "shop",
		"connection_security_policy", security, "request_protocol", protocol}, extra...)
}

// Refused requests are kept and counted, each edge's series (one per code and flag) are
// summed, "unknown" is no value, and a waypoint's refusal (no destination workload) is
// known by its Service's namespace. Two queries, whatever the answer.
func TestObservedEdgesKeepsRefusedTraffic(t *testing.T) {
	got, queries := observedEdgesAnswering(t, []string{"shop"}, "24h", func(q string) (result []string) {
		if strings.Contains(q, "istio_requests_total") {
			result = []string{
				sample(90, edgeLabelsOf("destination", "web-v1", "spiffe://cluster.local/ns/shop/sa/web", "api-v1", "mutual_tls", "http", "response_code", "200", "response_flags", "-")...),
				sample(10, edgeLabelsOf("destination", "web-v1", "spiffe://cluster.local/ns/shop/sa/web", "api-v1", "mutual_tls", "http", "response_code", "403", "response_flags", "-")...),
				sample(4, edgeLabelsOf("destination", "unknown", "unknown", "api-v1", "none", "grpc", "response_code", "200", "grpc_response_status", "7")...),
				sample(0, edgeLabelsOf("destination", "old-v1", "spiffe://cluster.local/ns/shop/sa/old", "api-v1", "mutual_tls", "http", "response_code", "200")...),
				sample(3, "reporter", "waypoint", "source_workload", "web-v1", "source_workload_namespace", "shop", "source_principal", "spiffe://cluster.local/ns/shop/sa/web",
					"destination_workload", "unknown", "destination_workload_namespace", "unknown", "destination_app", "unknown", "destination_version", "unknown",
					"destination_service_name", "reviews", "destination_service_namespace", "shop", "connection_security_policy", "mutual_tls", "request_protocol", "http", "response_code", "403"),
			}
		} else {
			result = []string{sample(6, edgeLabelsOf("destination", "api-v1", "spiffe://cluster.local/ns/shop/sa/api", "db-v1", "mutual_tls", "", "response_flags", "DENY")...)}
		}
		return result
	})
	web := whatif.Source{Workload: "web-v1", Namespace: "shop", Principal: "cluster.local/ns/shop/sa/web"}
	api := whatif.Destination{Workload: "api-v1", Namespace: "shop", App: "api", Version: "v1", Service: "api"}
	want := []whatif.Observation{
		{Reporter: "destination", Source: web, Destination: api, MTLS: true, Protocol: "http", Requests: 100, Refused: 10},
		{Reporter: "destination", Destination: api, Protocol: "grpc", Requests: 4, Refused: 4},
		{Reporter: "waypoint", Source: web, Destination: whatif.Destination{Namespace: "shop", Service: "reviews", Version: "unknown"}, MTLS: true, Protocol: "http", Requests: 3, Refused: 3},
		{Reporter: "destination", Source: whatif.Source{Workload: "api-v1", Namespace: "shop", Principal: "cluster.local/ns/shop/sa/api"},
			Destination: whatif.Destination{Workload: "db-v1", Namespace: "shop", App: "db", Version: "v1", Service: "db"}, MTLS: true, Protocol: "tcp", Requests: 6, Refused: 6},
	}
	if !slices.Equal(got, want) {
		t.Errorf("edges:\n%+v\nwant:\n%+v", got, want)
	}
	if len(queries) != 2 {
		t.Fatalf("%d queries, want 2: %q", len(queries), queries)
	}
	for _, q := range queries {
		if !strings.Contains(q, `namespace="shop"`) || !strings.Contains(q, "[24h]") {
			t.Errorf("query %q does not ask for namespace shop over 24h", q)
		}
	}
}

// observedEdgesAnswering asks ObservedEdges of a Prometheus that answers each query with the
// samples answer gives, and returns the edges and the queries it was sent.
func observedEdgesAnswering(t *testing.T, namespaces []string, window string, answer func(query string) []string) ([]whatif.Observation, []string) {
	t.Helper()
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(answer(q), ","))
	}))
	defer srv.Close()
	prom, err := Locator{FlagURL: srv.URL}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := prom.ObservedEdges(context.Background(), namespaces, window, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return got, queries
}

func TestNamespaceMatcher(t *testing.T) {
	for _, tc := range []struct {
		namespaces []string
		want       string
	}{
		{nil, ""},
		{[]string{"shop"}, `,l="shop"`},
		{[]string{"a", "b-c"}, `,l=~"a|b-c"`},
	} {
		if got := namespaceMatcher("l", tc.namespaces); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.namespaces, got, tc.want)
		}
	}
}
