package canary

import (
	"fmt"
	"time"
)

// Figures are one subset's traffic over a window, from its destinations' reports.
type Figures struct {
	RPS       float64
	ErrorRate float64 // share of 5xx and unanswered requests, 0 to 1
	P99Ms     float64
	HasP99    bool
}

func (f Figures) String() string {
	p99 := "-"
	if f.HasP99 {
		p99 = fmt.Sprintf("%.0fms", f.P99Ms)
	}
	return fmt.Sprintf("%.2f req/s, errors %.1f%%, p99 %s", f.RPS, f.ErrorRate*100, p99)
}

// Limits are an automatic canary's gates.
type Limits struct {
	MaxErrorRatePercent float64
	MaxP99              time.Duration // 0: no latency gate
}

// Judge decides one step: the canary passes when it received traffic, its error rate is at
// most the limit, and its p99 (when limited) is at most the limit. The reason says which
// figure failed and by how much.
func Judge(f Figures, l Limits) (bool, string) {
	switch {
	case f.RPS <= 0:
		return false, "no traffic reached the canary: nothing to judge it by"
	case f.ErrorRate*100 > l.MaxErrorRatePercent:
		return false, fmt.Sprintf("error rate %.1f%% is above the limit of %g%%", f.ErrorRate*100, l.MaxErrorRatePercent)
	case l.MaxP99 > 0 && !f.HasP99:
		return false, "no latency figures for the canary: p99 cannot be judged"
	case l.MaxP99 > 0 && f.P99Ms > float64(l.MaxP99.Milliseconds()):
		return false, fmt.Sprintf("p99 %.0fms is above the limit of %s", f.P99Ms, l.MaxP99)
	}
	return true, "within the limits"
}
