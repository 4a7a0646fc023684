package istio

// Shares turns a VirtualService route's weights into the percentages of traffic Istio sends:
// each destination gets weight / (sum of weights), and a lone destination everything, whatever
// its weight (Istio ignores it). The percentages are whole numbers that sum to 100, the
// remainders going to the largest fractions first (ties to the earlier destination).
func Shares(weights []int64) []int64 {
	if len(weights) == 1 {
		return []int64{100}
	}
	return BackendShares(weights)
}

// BackendShares are the percentages of a Gateway API rule's backendRefs (weights as written,
// 1 when unset): as Shares, except that a lone backendRef of weight 0 gets nothing, as any of
// weight 0 does. With no weight above 0 the rule sends nothing anywhere: Istio answers 500.
func BackendShares(weights []int64) []int64 {
	shares := make([]int64, len(weights))
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
