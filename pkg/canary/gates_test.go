package canary

import (
	"strings"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	limits := Limits{MaxErrorRatePercent: 1, MaxP99: 500 * time.Millisecond, MinRequests: 20}
	two := 2.0
	relative := Limits{MaxErrorRatePercent: 50, MaxErrorIncrease: &two, MaxP99Ratio: 1.5, MinRequests: 20}
	stable := Figures{RPS: 10, Requests: 600, ErrorRate: 0.01, P99Ms: 100, HasP99: true}
	tests := []struct {
		name           string
		canary, stable Figures
		haveStable     bool
		weight         int // 0: a step at 50%
		limits         Limits
		verdict        Verdict
		reason         string
	}{
		{"healthy", Figures{RPS: 3, Requests: 180, ErrorRate: 0.005, P99Ms: 120, HasP99: true}, stable, true, 0, limits, Pass, "within the limits"},
		{"exactly at the limits", Figures{RPS: 3, Requests: 180, ErrorRate: 0.01, P99Ms: 500, HasP99: true}, stable, true, 0, limits, Pass, "within the limits"},
		{"errors", Figures{RPS: 3, Requests: 180, ErrorRate: 0.3, P99Ms: 120, HasP99: true}, stable, true, 0, limits, Fail, "error rate 30.0% is above the limit of 1%"},
		{"slow", Figures{RPS: 3, Requests: 180, P99Ms: 900, HasP99: true}, stable, true, 0, limits, Fail, "p99 900ms is above the limit of 500ms"},
		{"no traffic is not a pass", Figures{}, stable, true, 0, limits, Hold, "not enough data: 0 canary requests"},
		{"thin data is held", Figures{RPS: 0.2, Requests: 12, ErrorRate: 0}, stable, true, 0, limits, Hold, "fewer than --min-requests 20"},
		{"no latency figures with a latency gate", Figures{RPS: 1, Requests: 60}, stable, true, 0, limits, Fail, "p99 cannot be judged"},
		{"no latency gate", Figures{RPS: 1, Requests: 60, P99Ms: 9000, HasP99: true}, stable, true, 0, Limits{MaxErrorRatePercent: 5}, Pass, "within the limits"},
		{"zero error budget", Figures{RPS: 1, Requests: 60, ErrorRate: 0.001}, stable, true, 0, Limits{}, Fail, "error rate 0.1% is above the limit of 0%"},
		{"no worse than stable", Figures{RPS: 1, Requests: 60, ErrorRate: 0.025, P99Ms: 140, HasP99: true}, stable, true, 0, relative, Pass, "beside stable"},
		{"errors well above stable's", Figures{RPS: 1, Requests: 60, ErrorRate: 0.04, P99Ms: 100, HasP99: true}, stable, true, 0, relative, Fail, "error rate 4.0% is 3.0 points above stable's 1.0%, more than --max-error-increase 2"},
		{"slower than stable by more than the ratio", Figures{RPS: 1, Requests: 60, ErrorRate: 0.01, P99Ms: 200, HasP99: true}, stable, true, 0, relative, Fail, "p99 200ms is 2.00x stable's 100ms, more than --max-p99-ratio 1.5"},
		{"no stable to compare with", Figures{RPS: 1, Requests: 60, ErrorRate: 0.2, P99Ms: 900, HasP99: true}, Figures{}, false, 100, relative, Pass, "stable had no traffic to compare with"},
		{"too little of stable to compare with", Figures{RPS: 1, Requests: 60, P99Ms: 900, HasP99: true}, Figures{RPS: 0.4, Requests: 2, P99Ms: 10, HasP99: true}, false, 50, relative, Hold, "stable received 2 requests in the interval, fewer than --min-requests 20"},
		{"no latency to compare", Figures{RPS: 1, Requests: 60}, stable, true, 0, relative, Fail, "the p99 ratio cannot be judged"},
	}
	for _, tt := range tests {
		weight := tt.weight
		if weight == 0 {
			weight = 50
		}
		verdict, reason := Judge(tt.canary, tt.stable, tt.haveStable, weight, tt.limits)
		if verdict != tt.verdict || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: Judge = %v, %q; want %v, %q", tt.name, verdict, reason, tt.verdict, tt.reason)
		}
	}
}

func TestNeedsStable(t *testing.T) {
	two := 2.0
	for _, tt := range []struct {
		limits Limits
		weight int
		want   bool
	}{
		{Limits{MaxP99Ratio: 1.5}, 50, true},
		{Limits{MaxErrorIncrease: &two}, 10, true},
		{Limits{MaxP99Ratio: 1.5}, 100, false}, // stable takes nothing at 100%
		{Limits{MaxP99: time.Second}, 50, false},
	} {
		if got := NeedsStable(tt.limits, tt.weight); got != tt.want {
			t.Errorf("NeedsStable(%+v, %d) = %v", tt.limits, tt.weight, got)
		}
	}
}

func TestShareOff(t *testing.T) {
	tests := []struct {
		share  float64
		weight int
		off    bool
	}{
		{0, 20, true}, {15, 20, false}, {19.5, 20, false}, {35, 20, true}, {30, 50, false}, {20, 50, true},
		{100, 100, false}, {-1, 20, false}, {4, 10, false}, {0, 10, false},
	}
	for _, tt := range tests {
		if got := ShareOff(tt.share, 100, tt.weight); got != tt.off {
			t.Errorf("ShareOff(%g, %d) = %t", tt.share, tt.weight, got)
		}
	}
	if ShareOff(0, 49, 20) {
		t.Error("a share of 49 requests is too noisy to judge")
	}
	if got := Share(Figures{RPS: 1}, Figures{RPS: 3}); got != 25 {
		t.Errorf("Share = %g", got)
	}
}
