package output

import "fmt"

// One way to write each unit, whichever command prints it: graph's latencies, traces' span
// durations and canary's p99 all read 7.7ms, 23ms, 1.25s; graph's and canary's error shares
// both read 0% and 30.6%.

// Millis writes a duration given in milliseconds: µs below a millisecond, one decimal below
// ten, none below a second, seconds with two decimals above.
func Millis(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	case ms >= 10:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fµs", ms*1000)
}

// Share writes a share from 0 to 1 as a percentage: 0% for none, <0.1% for a trace of it,
// else one decimal.
func Share(v float64) string {
	switch {
	case v == 0:
		return "0%"
	case v < 0.001:
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", v*100)
}
