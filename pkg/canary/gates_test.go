package canary

import (
	"strings"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	limits := Limits{MaxErrorRatePercent: 1, MaxP99: 500 * time.Millisecond}
	tests := []struct {
		name    string
		figures Figures
		limits  Limits
		pass    bool
		reason  string
	}{
		{"healthy", Figures{RPS: 3, ErrorRate: 0.005, P99Ms: 120, HasP99: true}, limits, true, "within the limits"},
		{"exactly at the limits", Figures{RPS: 3, ErrorRate: 0.01, P99Ms: 500, HasP99: true}, limits, true, "within the limits"},
		{"errors", Figures{RPS: 3, ErrorRate: 0.3, P99Ms: 120, HasP99: true}, limits, false, "error rate 30.0% is above the limit of 1%"},
		{"slow", Figures{RPS: 3, P99Ms: 900, HasP99: true}, limits, false, "p99 900ms is above the limit of 500ms"},
		{"no traffic", Figures{}, limits, false, "no traffic reached the canary"},
		{"no latency figures with a latency gate", Figures{RPS: 1}, limits, false, "p99 cannot be judged"},
		{"no latency gate", Figures{RPS: 1, P99Ms: 9000, HasP99: true}, Limits{MaxErrorRatePercent: 5}, true, "within the limits"},
		{"zero error budget", Figures{RPS: 1, ErrorRate: 0.001}, Limits{}, false, "error rate 0.1% is above the limit of 0%"},
	}
	for _, tt := range tests {
		pass, reason := Judge(tt.figures, tt.limits)
		if pass != tt.pass || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: Judge = %t, %q; want %t, %q", tt.name, pass, reason, tt.pass, tt.reason)
		}
	}
}
