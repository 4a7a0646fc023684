package sim

import "testing"

// Envoy's retry_on, for the answers the simulator gives (503 from an app, 403 from policy).
func TestRetriable(t *testing.T) {
	for _, tc := range []struct {
		on   string
		code int
		want bool
	}{
		{"5xx", 503, true},
		{"5xx", 500, true},
		{"gateway-error", 503, true},
		{"gateway-error", 500, false},
		{"connect-failure,retriable-status-codes", 503, true},
		{"connect-failure", 503, false},
		{"5xx", 403, false},
		{"5xx", 200, false},
		{"", 503, false},
	} {
		if got := (Retries{Attempts: 2, On: tc.on}).retriable(tc.code); got != tc.want {
			t.Errorf("retry_on %q, %d: %t", tc.on, tc.code, got)
		}
	}
	for flags, want := range map[string]string{joinFlags("DI", "FI"): "DI,FI", joinFlags("", "URX"): "URX", joinFlags("", ""): ""} {
		if flags != want {
			t.Errorf("joinFlags: %q, want %q", flags, want)
		}
	}
}
