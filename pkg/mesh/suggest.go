package mesh

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// didYouMean is " did you mean NAME?" for the Service of namespace whose name is closest to
// name (at most two edits away), else "". It reads the namespace's Services: only on the way to
// an error, so that a typo costs one more request and a right name none.
func (c *Clients) didYouMean(ctx context.Context, namespace, name string) string {
	list, err := c.Core.Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	best, bestDistance := "", 3
	for _, s := range list.Items {
		if d := editDistance(name, s.Name); d < bestDistance {
			best, bestDistance = s.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" did you mean %s?", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
