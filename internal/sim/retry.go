package sim

import "strings"

// Retries are a route's retry policy as Envoy applies it: up to Attempts more tries of a
// request whose answer On (Envoy's retry_on) names.
type Retries struct {
	Attempts int
	On       string
}

// retriable tells whether an answer of code is tried again: 5xx takes every 5xx,
// gateway-error 502 to 504, retriable-status-codes Istio's default list (503).
func (r Retries) retriable(code int) bool {
	for on := range strings.SplitSeq(r.On, ",") {
		switch strings.TrimSpace(on) {
		case "5xx":
			if code >= 500 {
				return true
			}
		case "gateway-error":
			if code >= 502 && code <= 504 {
				return true
			}
		case "retriable-status-codes":
			if code == 503 {
				return true
			}
		}
	}
	return false
}

// delayFlag is DI when the route's fault delayed the request, as Envoy flags it.
func (t Target) delayFlag() string {
	if t.Delay > 0 {
		return "DI"
	}
	return ""
}

// joinFlags joins response flags as Envoy writes them, comma-separated, "" dropped.
func joinFlags(flags ...string) string {
	var set []string
	for _, f := range flags {
		if f != "" {
			set = append(set, f)
		}
	}
	return strings.Join(set, ",")
}
