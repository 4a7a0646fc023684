package graph

import (
	"math"

	"github.com/prometheus/common/model"
)

// quantileKey finds one reporter's quantile of one edge.
type quantileKey struct {
	quantile float64
	reporter string
	edge     key
}

// indexLatency reads the quantile vectors once, so that looking an edge up costs O(1).
func indexLatency(latency map[float64]model.Vector) map[quantileKey]float64 {
	index := map[quantileKey]float64{}
	for quantile, vector := range latency {
		for _, sample := range vector {
			v := float64(sample.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			index[quantileKey{quantile, string(sample.Metric["reporter"]), keyOf(sample.Metric)}] = v
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
