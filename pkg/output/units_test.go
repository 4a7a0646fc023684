package output

import "testing"

func TestUnits(t *testing.T) {
	for ms, want := range map[float64]string{0.5: "500µs", 3.94: "3.9ms", 22.4: "22ms", 129.04: "129ms", 1250: "1.25s"} {
		if got := Millis(ms); got != want {
			t.Errorf("Millis(%v) = %q, want %q", ms, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0%", 0.0004: "<0.1%", 0.306: "30.6%", 1: "100.0%"} {
		if got := Share(v); got != want {
			t.Errorf("Share(%v) = %q, want %q", v, got, want)
		}
	}
}
