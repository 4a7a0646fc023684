package istio

// Shares turns route weights into the percentages of traffic Istio sends: each destination
// gets weight / (sum of weights), a lone destination everything. The percentages are whole
// numbers that sum to 100, the remainders going to the largest fractions first (ties to the
// earlier destination).
func Shares(weights []int64) []int64 {
	shares := make([]int64, len(weights))
	if len(weights) == 1 {
		shares[0] = 100
		return shares
	}
	var total int64
	for _, w := range weights {
		total += max(w, 0)
	}
	if total == 0 {
		return shares
	}
	remainders := make([]int64, len(weights))
	var given int64
	for i, w := range weights {
		shares[i] = max(w, 0) * 100 / total
		remainders[i] = max(w, 0) * 100 % total
		given += shares[i]
	}
	for ; given < 100; given++ {
		best := 0
		for i := range remainders {
			if remainders[i] > remainders[best] {
				best = i
			}
		}
		shares[best]++
		remainders[best] = -1
	}
	return shares
}
