package cmd

import (
	"strings"
	"testing"
)

// The parsers of what users type: an error or a value, never a panic, and a value always
// within what the command accepts.

func FuzzParsePercent(f *testing.F) {
	for _, seed := range []string{"10", "10%", "0", "100", "101", "-1", "", "1e2", "٣", "99999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		p, err := parsePercent(arg)
		if err == nil && (p < 0 || p > 100) {
			t.Errorf("parsePercent(%q) = %d", arg, p)
		}
	})
}

func FuzzValidateSteps(f *testing.F) {
	f.Add([]byte{10, 25, 50, 100})
	f.Add([]byte{50, 10})
	f.Add([]byte{0, 200})
	f.Fuzz(func(t *testing.T, raw []byte) {
		steps := make([]int, len(raw))
		for i, b := range raw {
			steps[i] = int(int8(b)) * 2 // negatives too, and past 100
		}
		if validateSteps(steps) != nil {
			return
		}
		for i, s := range steps {
			if s < 1 || s > 100 || (i > 0 && s <= steps[i-1]) {
				t.Errorf("validateSteps accepted %v", steps)
			}
		}
	})
}

func FuzzGraphFlags(f *testing.F) {
	for _, seed := range [][2]string{{"5m", ""}, {"1h30m", "2026-11-26T09:00:00Z"}, {"0", "1732611600.5"}, {"5", "yesterday"}, {"-1m", "NaN"}, {"1y", "1e300"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, window, at string) {
		o := &GraphOptions{Window: window, At: at, Output: "table", Sort: "p99"}
		err := o.Validate()
		if err == nil && at != "" && o.at.IsZero() && strings.TrimSpace(at) != "" {
			t.Errorf("--time %q accepted without an instant", at)
		}
	})
}

// The whole command line, as a user could type it, against a cluster: exit 0 or 1 and a
// message, never a panic.
func FuzzCanaryCommandLine(f *testing.F) {
	f.Add("reviews", "10", "10,50,100", "")
	f.Add("reviews.default.svc.cluster.local", "100%", "", "v2")
	f.Add("reviews.other", "-5", "5,5", "nope")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, service, percent, steps, canary string) {
		args := []string{"canary", service}
		if percent != "" {
			args = append(args, percent)
		}
		if steps != "" {
			args = append(args, "--steps", steps)
		}
		if canary != "" {
			args = append(args, "--canary", canary)
		}
		args = append(args, "--dry-run=client")
		_, stderr, code := run(newFakeCluster(3, 1), args...)
		if code != 0 && code != 1 || code == 1 && !strings.HasPrefix(stderr, "error: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	})
}
