package graph

import (
	"math"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// quantileKey finds one reporter's quantile of one edge.
type quantileKey struct {
	quantile float64
	reporter string
	edge     key
}

// indexLatency computes each histogram's quantiles once, so that looking an edge up costs O(1).
func indexLatency(durations []*telemetry.Histogram) map[quantileKey]float64 {
	index := make(map[quantileKey]float64, len(durations)*len(telemetry.Quantiles))
	for _, h := range durations {
		k, reporter := keyOf(h.Metric), string(h.Metric["reporter"])
		for i, v := range h.Quantiles(telemetry.Quantiles...) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			index[quantileKey{telemetry.Quantiles[i], reporter, k}] = v
		}
	}
	return index
}

// setLatency takes each quantile from the same reporter as the edge's counts.
func setLatency(e *Edge, k key, latency map[quantileKey]float64) {
	if e.Protocol == "tcp" {
		return
	}
	get := func(q float64) *float64 {
		if v, ok := latency[quantileKey{q, e.Reporter, k}]; ok {
			return &v
		}
		return nil
	}
	e.P50Ms, e.P95Ms, e.P99Ms = get(0.5), get(0.95), get(0.99)
}
