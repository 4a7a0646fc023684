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
	if len(into) == 0 {
		return from
	}
	index := make(map[model.Fingerprint]int, len(into))
	for i, sample := range into {
		index[sample.Metric.Fingerprint()] = i
	}
	for _, sample := range from {
		i, dup := index[sample.Metric.Fingerprint()]
		switch {
		case !dup:
			into = append(into, sample)
		case sample.Value > into[i].Value:
			into[i] = sample
		}
	}
	return into
}

func mergeHistograms(into, from []*Histogram) []*Histogram {
	if len(into) == 0 {
		return from
	}
	index := make(map[model.Fingerprint]int, len(into))
	for i, h := range into {
		index[h.Metric.Fingerprint()] = i
	}
	for _, h := range from {
		i, dup := index[h.Metric.Fingerprint()]
		switch {
		case !dup:
			into = append(into, h)
		case total(h) > total(into[i]):
			into[i] = h
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
