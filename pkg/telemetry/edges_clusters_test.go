package telemetry

import (
	"strings"
	"testing"
)

// The same edge seen in two clusters of a mesh is two observations, each with the clusters
// of both ends: each is decided by its destination cluster's policies.
func TestObservedEdgesKeepsClustersApart(t *testing.T) {
	got, queries := observedEdgesAnswering(t, nil, "1h", func(q string) (result []string) {
		if strings.Contains(q, "istio_requests_total") {
			for _, to := range []string{"cluster-east", "cluster-west"} {
				result = append(result, sample(5, edgeLabelsOf("destination", "web-v1", "spiffe://cluster.local/ns/shop/sa/web", "api-v1", "mutual_tls", "http",
					"response_code", "200", "source_cluster", "cluster-east", "destination_cluster", to)...))
			}
		}
		return result
	})
	if len(got) != 2 || got[0].Source.Cluster != "cluster-east" || got[0].Destination.Cluster != "cluster-east" || got[1].Destination.Cluster != "cluster-west" {
		t.Errorf("edges %+v, want one per destination cluster, from cluster-east", got)
	}
	for _, q := range queries {
		if !strings.Contains(q, "source_cluster") || !strings.Contains(q, "destination_cluster") {
			t.Errorf("query %q does not group by the clusters", q)
		}
	}
}
