package telemetry

import (
	"github.com/prometheus/common/model"
)

// Merge adds the answers of another Prometheus to s. Each cluster's Prometheus holds the
// reports of its own proxies, so the answers are disjoint, and a cross-cluster call is its
// caller's report in one and its callee's in the other: both are kept, and the graph counts
// the call once as it does in one Prometheus. A series both answers hold (two Prometheus
// servers scraping the same proxies, or one federating the other) is one series: it is kept
// once, with the larger value, so that overlapping sources never double a figure.
func (s *Samples) Merge(other *Samples) {
	s.Requests = mergeVectors(s.Requests, other.Requests)
	s.TCPSent = mergeVectors(s.TCPSent, other.TCPSent)
	s.TCPRecv = mergeVectors(s.TCPRecv, other.TCPRecv)
	s.TCPOpened = mergeVectors(s.TCPOpened, other.TCPOpened)
	s.Durations = mergeHistograms(s.Durations, other.Durations)
	s.Queries += other.Queries
}

func mergeVectors(into, from model.Vector) model.Vector {
	return mergeSeries(into, from, func(s *model.Sample) (model.Metric, float64) { return s.Metric, float64(s.Value) })
}

func mergeHistograms(into, from []*Histogram) []*Histogram {
	return mergeSeries(into, from, func(h *Histogram) (model.Metric, float64) { return h.Metric, total(h) })
}

// mergeSeries appends from's series to into's, keeping one of each label set, the larger by
// size.
func mergeSeries[T any](into, from []T, identity func(T) (model.Metric, float64)) []T {
	if len(into) == 0 {
		return from
	}
	index := make(map[model.Fingerprint]int, len(into))
	for i, series := range into {
		m, _ := identity(series)
		index[m.Fingerprint()] = i
	}
	for _, series := range from {
		m, size := identity(series)
		i, dup := index[m.Fingerprint()]
		if !dup {
			into = append(into, series)
			continue
		}
		if _, kept := identity(into[i]); size > kept {
			into[i] = series
		}
	}
	return into
}

// total is a histogram's count: its +Inf bucket, the largest.
func total(h *Histogram) float64 {
	var most float64
	for _, b := range h.Buckets {
		most = max(most, b.Count)
	}
	return most
}
