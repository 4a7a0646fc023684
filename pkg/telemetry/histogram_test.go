package telemetry

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

func TestQuantilesReadBucketsAsHistogramQuantileDoes(t *testing.T) {
	inf := math.Inf(1)
	nan := math.NaN()
	tests := []struct {
		name    string
		buckets []Bucket
		q       float64
		want    float64
	}{
		{"interpolates within the bucket", []Bucket{{10, 0}, {20, 10}, {inf, 10}}, 0.5, 15},
		{"from 0 in the lowest bucket", []Bucket{{100, 10}, {inf, 10}}, 0.99, 99},
		{"in any order", []Bucket{{inf, 10}, {100, 10}, {50, 5}}, 0.5, 50},
		{"in the +Inf bucket: the highest finite bound", []Bucket{{10, 1}, {20, 2}, {inf, 10}}, 0.5, 20},
		{"a lowest bound at or below 0 is the answer", []Bucket{{-5, 8}, {10, 10}, {inf, 10}}, 0.5, -5},
		{"no +Inf bucket: undefined", []Bucket{{10, 5}, {20, 10}}, 0.5, nan},
		{"no observations: undefined", []Bucket{{10, 0}, {inf, 0}}, 0.5, nan},
		{"one bucket: undefined", []Bucket{{inf, 10}}, 0.5, nan},
		{"no buckets: undefined", nil, 0.5, nan},
		{"q below 0", []Bucket{{10, 5}, {inf, 10}}, -0.1, math.Inf(-1)},
		{"q above 1", []Bucket{{10, 5}, {inf, 10}}, 1.1, inf},
		{"q NaN", []Bucket{{10, 5}, {inf, 10}}, nan, nan},
		// Buckets with the same bound count together.
		{"equal bounds add up", []Bucket{{10, 2}, {10, 3}, {20, 10}, {inf, 10}}, 0.5, 10},
		// A count that falls is raised to the one below it.
		{"forced monotonic", []Bucket{{10, 6}, {20, 4}, {30, 10}, {inf, 10}}, 0.7, 22.5},
		// A difference of float rounding is ignored, whichever way it goes.
		{"rounding ignored", []Bucket{{10, 5}, {20, 5 * (1 + 1e-15)}, {30, 10}, {inf, 10}}, 0.5, 10},
		{"rank exactly at a bound", []Bucket{{10, 5}, {20, 10}, {inf, 10}}, 0.5, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Histogram{Buckets: tt.buckets}
			got := h.Quantiles(tt.q)[0]
			if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("quantile %g of %v = %g, want %g", tt.q, tt.buckets, got, tt.want)
			}
		})
	}
}

func TestQuantilesLeaveTheBucketsAsTheyWere(t *testing.T) {
	h := &Histogram{Buckets: []Bucket{{math.Inf(1), 10}, {20, 4}, {10, 6}}}
	got := h.Quantiles(0.6, 0.99)
	if got[0] != 10 || got[1] != 20 {
		t.Errorf("quantiles = %v", got)
	}
	if h.Buckets[0].UpperBound != math.Inf(1) || h.Buckets[1].Count != 4 {
		t.Errorf("buckets changed: %v", h.Buckets)
	}
}

func TestHistogramSetGroupsBucketsByTheirOtherLabels(t *testing.T) {
	var s histogramSet
	bucket := func(le, reporter string, v float64) {
		// The same map, reused, as the decoder hands it over.
		m := model.Metric{"le": model.LabelValue(le), "reporter": model.LabelValue(reporter), "destination_app": "reviews"}
		s.add(m, v)
		clear(m)
	}
	bucket("10", "destination", 4)
	bucket("10", "source", 1)
	bucket("+Inf", "destination", 8)
	bucket("not-a-number", "destination", 99) // skipped, as histogram_quantile skips it
	bucket("+Inf", "source", 2)
	if len(s.list) != 2 {
		t.Fatalf("%d histograms, want 2: %v", len(s.list), s.list)
	}
	dest := s.list[0]
	if dest.Metric["reporter"] != "destination" || dest.Metric["le"] != "" || len(dest.Buckets) != 2 || dest.Quantiles(0.5)[0] != 10 {
		t.Errorf("destination histogram %+v", dest)
	}
	// A label set that differs only by a missing label is another histogram.
	s.add(model.Metric{"le": "10", "reporter": "destination"}, 1)
	if len(s.list) != 3 {
		t.Errorf("%d histograms, want 3", len(s.list))
	}
}

func TestScopeReadsOnlyTheNamespacesSeries(t *testing.T) {
	q := Queries("5m", Scope{Namespace: "shop"})
	want := `sum by (reporter, source_workload, source_workload_namespace, source_app, source_version, source_cluster, destination_workload, destination_workload_namespace, destination_app, destination_version, destination_cluster, destination_service, request_protocol, le) ` +
		`(rate(istio_request_duration_milliseconds_bucket{destination_workload_namespace="shop"}[5m]) or rate(istio_request_duration_milliseconds_bucket{source_workload_namespace="shop"}[5m]))`
	if q[QueryDurations] != want {
		t.Errorf("durations query\n got %s\nwant %s", q[QueryDurations], want)
	}
	if len(q) != 5 {
		t.Errorf("%d queries, want 5", len(q))
	}
	all := Queries("1h", Scope{})
	if want := `sum by (reporter, source_workload, source_workload_namespace, source_app, source_version, source_cluster, destination_workload, destination_workload_namespace, destination_app, destination_version, destination_cluster, destination_service, request_protocol, connection_security_policy) (rate(istio_tcp_sent_bytes_total[1h]))`; all[QueryTCPSent] != want {
		t.Errorf("mesh-wide tcpSent\n got %s\nwant %s", all[QueryTCPSent], want)
	}
	picked := Queries("5m", Scope{Selector: `reporter="waypoint"`})
	if want := `rate(istio_requests_total{reporter="waypoint"}[5m])`; !strings.Contains(picked[QueryRequests], want) {
		t.Errorf("selector scope: %s lacks %s", picked[QueryRequests], want)
	}
}
