package canary

import (
	"fmt"
	"math"
	"time"
)

// Figures are one version's traffic over a window, from its destinations' reports.
type Figures struct {
	RPS       float64
	Requests  float64 // over the window: RPS times its length
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

// Limits are an automatic canary's gates: absolute, and relative to stable over the same
// interval.
type Limits struct {
	MaxErrorRatePercent float64
	MaxP99              time.Duration // 0: no latency gate
	// MaxErrorIncrease is how many percentage points the canary's error rate may exceed
	// stable's; nil: no such gate.
	MaxErrorIncrease *float64
	// MaxP99Ratio is how many times stable's p99 the canary's may be; 0: no such gate.
	MaxP99Ratio float64
	// MinRequests is the fewest canary requests in an interval worth judging: fewer is not
	// enough data, and the step is held.
	MinRequests int
}

// Verdict is a step's outcome.
type Verdict int

const (
	// Pass: within every gate.
	Pass Verdict = iota
	// Fail: a gate failed; roll back.
	Fail
	// Hold: not enough data to judge; hold the step for another interval.
	Hold
)

// Judge decides one step, at weight, from the canary's and stable's figures over the same
// interval. Too few canary requests (none at all included) is not a pass: the step is held.
// Relative gates need stable figures with enough traffic (haveStable): while stable still
// takes traffic at this weight, too few of its requests hold the step too; at 100%, where it
// takes none, the relative gates are not judged, and the reason says so. Without
// haveStable, stable is this interval's figures, for the reason.
func Judge(canary, stable Figures, haveStable bool, weight int, l Limits) (Verdict, string) {
	if canary.RPS <= 0 || canary.Requests < float64(l.MinRequests) {
		return Hold, fmt.Sprintf("not enough data: %.0f canary requests in the interval, fewer than --min-requests %d", canary.Requests, l.MinRequests)
	}
	switch {
	case canary.ErrorRate*100 > l.MaxErrorRatePercent:
		return Fail, fmt.Sprintf("error rate %.1f%% is above the limit of %g%%", canary.ErrorRate*100, l.MaxErrorRatePercent)
	case l.MaxP99 > 0 && !canary.HasP99:
		return Fail, "no latency figures for the canary: p99 cannot be judged"
	case l.MaxP99 > 0 && canary.P99Ms > float64(l.MaxP99.Milliseconds()):
		return Fail, fmt.Sprintf("p99 %.0fms is above the limit of %s", canary.P99Ms, l.MaxP99)
	}
	relative := l.MaxErrorIncrease != nil || l.MaxP99Ratio > 0
	if !relative {
		return Pass, "within the limits"
	}
	switch {
	case !haveStable && NeedsStable(l, weight):
		return Hold, fmt.Sprintf("not enough data: stable received %.0f requests in the interval, fewer than --min-requests %d: nothing to compare the canary with", stable.Requests, l.MinRequests)
	case !haveStable:
		return Pass, "within the absolute limits (stable had no traffic to compare with)"
	}
	if l.MaxErrorIncrease != nil {
		if increase := (canary.ErrorRate - stable.ErrorRate) * 100; increase > *l.MaxErrorIncrease {
			return Fail, fmt.Sprintf("error rate %.1f%% is %.1f points above stable's %.1f%%, more than --max-error-increase %g", canary.ErrorRate*100, increase, stable.ErrorRate*100, *l.MaxErrorIncrease)
		}
	}
	if l.MaxP99Ratio > 0 {
		switch {
		case !canary.HasP99 || !stable.HasP99 || stable.P99Ms <= 0:
			return Fail, "no latency figures for the canary or stable: the p99 ratio cannot be judged"
		case canary.P99Ms/stable.P99Ms > l.MaxP99Ratio:
			return Fail, fmt.Sprintf("p99 %.0fms is %.2fx stable's %.0fms, more than --max-p99-ratio %g", canary.P99Ms, canary.P99Ms/stable.P99Ms, stable.P99Ms, l.MaxP99Ratio)
		}
	}
	return Pass, "within the limits and beside stable"
}

// NeedsStable tells whether a step must see stable's figures to be judged: a relative gate is
// set and stable still takes traffic at this weight. With fewer than --min-requests of
// stable's, such a step holds rather than passing on the absolute limits alone.
func NeedsStable(l Limits, weight int) bool {
	return (l.MaxErrorIncrease != nil || l.MaxP99Ratio > 0) && weight < 100
}

// Share is the part of the requests the canary received, 0 to 100; -1 when neither received
// any.
func Share(canary, stable Figures) float64 {
	total := canary.RPS + stable.RPS
	if total <= 0 {
		return -1
	}
	return canary.RPS / total * 100
}

// ShareOff tells whether the canary's observed share of requests (of total, canary's and
// stable's together) is far from the weight it was given: more than 10 points off, and more
// than half the weight (0% at 20% is; 15% at 20% is not). Traffic is then not following the
// route. Under 50 requests the share is too noisy to tell.
func ShareOff(share, total float64, weight int) bool {
	if share < 0 || total < 50 {
		return false
	}
	off := math.Abs(share - float64(weight))
	return off > 10 && off > float64(weight)/2
}
