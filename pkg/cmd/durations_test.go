package cmd

import (
	"strings"
	"testing"
	"time"
)

// Every duration flag takes Go's syntax and Prometheus's alike; a --window is kept as
// Prometheus writes it, ready for a query.
func TestOneDurationSyntax(t *testing.T) {
	var d time.Duration
	for in, want := range map[string]time.Duration{"1m30s": 90 * time.Second, "1.5m": 90 * time.Second, "500ms": 500 * time.Millisecond, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour} {
		if err := (durationValue{&d}).Set(in); err != nil || d != want {
			t.Errorf("duration %q: %v, %v; want %v", in, d, err, want)
		}
	}
	var w string
	for in, want := range map[string]string{"5m": "5m", "1.5m": "1m30s", "90s": "90s", "24h": "24h", "1d": "1d", "2m500ms": "2m500ms"} {
		if err := (windowValue{&w}).Set(in); err != nil || w != want {
			t.Errorf("window %q: %q, %v; want %q", in, w, err, want)
		}
	}
	for _, args := range [][]string{
		{"graph", "--window", "5x"}, {"graph", "--interval", "1x"}, {"traces", "--window", "soon"}, {"canary", "reviews", "--auto", "--max-p99", "fast"},
	} {
		_, stderr, code := run(nil, args...)
		if want := "error: " + args[len(args)-2] + " \"" + args[len(args)-1] + "\" is not a duration: use a number with a unit, such as 500ms, 30s, 5m or 1h"; code != 1 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", args, code, stderr, want)
		}
	}
}
