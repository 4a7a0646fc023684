package telemetry

import (
	"hash/maphash"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/prometheus/common/model"
)

// Bucket is one bucket of a classic histogram: the observations (here, per second) at or
// below UpperBound, the le label.
type Bucket struct{ UpperBound, Count float64 }

// Histogram is one classic histogram's buckets, for one set of labels other than le.
type Histogram struct {
	Metric  model.Metric
	Buckets []Bucket
}

// Quantiles computes each q-quantile of h as Prometheus's histogram_quantile does over the
// same buckets: fetching the buckets once and interpolating here costs one query where
// asking Prometheus would cost one per quantile. NaN when there is nothing to tell.
func (h *Histogram) Quantiles(qs ...float64) []float64 {
	buckets := normalize(h.Buckets)
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i] = bucketQuantile(q, buckets)
	}
	return out
}

// normalize returns buckets as histogram_quantile reads them: sorted by upper bound, those
// with the same bound added together, and counts that fall (which a histogram cannot do
// but float arithmetic and scrape races can) raised to the count below. nil when the +Inf
// bucket is missing, which leaves every quantile undefined.
func normalize(in []Bucket) []Bucket {
	if len(in) == 0 {
		return nil
	}
	buckets := slices.Clone(in)
	slices.SortFunc(buckets, func(a, b Bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return 1
		}
		return 0
	})
	if !math.IsInf(buckets[len(buckets)-1].UpperBound, 1) {
		return nil
	}
	merged := buckets[:1]
	for _, b := range buckets[1:] {
		if last := &merged[len(merged)-1]; b.UpperBound == last.UpperBound {
			last.Count += b.Count
			continue
		}
		merged = append(merged, b)
	}
	// Differences below a relative 1e-12 are rounding, in either direction: ignored. Real
	// decreases are flattened. Either way the count carried forward is the last one kept.
	kept := merged[0].Count
	for i := 1; i < len(merged); i++ {
		count := merged[i].Count
		if count == kept {
			continue
		}
		if almostEqual(kept, count, 1e-12) || count < kept {
			merged[i].Count = kept
			continue
		}
		kept = count
	}
	return merged
}

// bucketQuantile interpolates linearly within the bucket where the quantile's rank falls,
// from 0 for the lowest bucket (unless its bound is at most 0, which is then the answer);
// a rank in the +Inf bucket answers the highest finite bound.
func bucketQuantile(q float64, buckets []Bucket) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	case len(buckets) < 2:
		return math.NaN()
	}
	observations := buckets[len(buckets)-1].Count
	if observations == 0 {
		return math.NaN()
	}
	rank := q * observations
	b := sort.Search(len(buckets)-1, func(i int) bool { return buckets[i].Count >= rank })
	switch {
	case b == len(buckets)-1:
		return buckets[len(buckets)-2].UpperBound
	case b == 0 && buckets[0].UpperBound <= 0:
		return buckets[0].UpperBound
	}
	var start float64
	end, count := buckets[b].UpperBound, buckets[b].Count
	if b > 0 {
		start = buckets[b-1].UpperBound
		count -= buckets[b-1].Count
		rank -= buckets[b-1].Count
	}
	return start + (end-start)*(rank/count)
}

// smallestNormal is the smallest positive normal float64.
var smallestNormal = math.Float64frombits(0x0010000000000000)

// almostEqual compares a and b within a relative epsilon; near zero, within epsilon times
// the smallest normal number.
func almostEqual(a, b, epsilon float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	sum, diff := math.Abs(a)+math.Abs(b), math.Abs(a-b)
	if a == 0 || b == 0 || sum < smallestNormal {
		return diff < epsilon*smallestNormal
	}
	return diff/math.Min(sum, math.MaxFloat64) < epsilon
}

// histogramSet gathers the buckets of a `sum by (..., le)` answer, sample by sample, into one
// Histogram per label set.
type histogramSet struct {
	byLabels map[uint64][]*Histogram // by labelsHash, rarely more than one
	list     []*Histogram
}

var hashSeed = maphash.MakeSeed()

// labelsHash hashes m's labels but le, in any order: a map's order is random, and sorting
// the names of every sample would cost more than the rest of the decoding.
func labelsHash(m model.Metric) uint64 {
	var sum uint64
	for name, value := range m {
		if name != model.BucketLabel {
			sum += maphash.String(hashSeed, string(name))*0x9E3779B97F4A7C15 ^ maphash.String(hashSeed, string(value))
		}
	}
	return sum
}

// sameLabels tells whether m (which has le) and h's metric (which has not) agree.
func sameLabels(m, h model.Metric) bool {
	if len(m) != len(h)+1 {
		return false
	}
	for name, value := range h {
		if m[name] != value {
			return false
		}
	}
	return true
}

func (s *histogramSet) add(m model.Metric, v float64) {
	le, ok := m[model.BucketLabel]
	bound, err := strconv.ParseFloat(string(le), 64)
	if !ok || err != nil {
		return // histogram_quantile skips a bucket whose le is not a number
	}
	hash := labelsHash(m)
	var h *Histogram
	for _, candidate := range s.byLabels[hash] {
		if sameLabels(m, candidate.Metric) {
			h = candidate
			break
		}
	}
	if h == nil {
		if s.byLabels == nil {
			s.byLabels = map[uint64][]*Histogram{}
		}
		metric := maps.Clone(m)
		delete(metric, model.BucketLabel)
		h = &Histogram{Metric: metric}
		s.byLabels[hash] = append(s.byLabels[hash], h)
		s.list = append(s.list, h)
	}
	h.Buckets = append(h.Buckets, Bucket{UpperBound: bound, Count: v})
}
