package istio

import (
	"slices"
	"testing"
)

func TestShares(t *testing.T) {
	tests := []struct{ weights, want []int64 }{
		{[]int64{90, 10}, []int64{90, 10}},
		{[]int64{3, 1}, []int64{75, 25}},
		{[]int64{1, 1, 1}, []int64{34, 33, 33}},
		{[]int64{0}, []int64{100}},
		{[]int64{5, 0}, []int64{100, 0}},
		{[]int64{0, 0}, []int64{0, 0}},
		{[]int64{1, 2}, []int64{33, 67}},
	}
	for _, tt := range tests {
		if got := Shares(tt.weights); !slices.Equal(got, tt.want) {
			t.Errorf("Shares(%v) = %v, want %v", tt.weights, got, tt.want)
		}
	}
}

// Gateway API takes a backendRef's weight as written even when it is the only one: weight 0
// sends it nothing (Istio answers 500), where a VirtualService's lone destination takes all.
func TestBackendShares(t *testing.T) {
	tests := []struct{ weights, want []int64 }{
		{[]int64{0}, []int64{0}},
		{[]int64{1}, []int64{100}},
		{[]int64{7}, []int64{100}},
		{[]int64{0, 0}, []int64{0, 0}},
		{[]int64{90, 10}, []int64{90, 10}},
		{[]int64{3, 0}, []int64{100, 0}},
		{[]int64{1, 1, 1}, []int64{34, 33, 33}},
	}
	for _, tt := range tests {
		if got := BackendShares(tt.weights); !slices.Equal(got, tt.want) {
			t.Errorf("BackendShares(%v) = %v, want %v", tt.weights, got, tt.want)
		}
	}
}
