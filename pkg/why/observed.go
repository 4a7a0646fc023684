package why

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Observed is what this edge really saw in the window, from Istio's standard metrics.
type Observed struct {
	Window   string          `json:"window"`
	Requests float64         `json:"requests"`
	ByCode   []ResponseCount `json:"responses"`
	// Disagrees says how what was seen differs from what the configuration predicts.
	Disagrees string `json:"disagrees,omitempty"`
}

// ResponseCount is the requests of one response code and response flag.
type ResponseCount struct {
	Code     string  `json:"code"`
	Flags    string  `json:"flags"`
	Meaning  string  `json:"meaning,omitempty"`
	Requests float64 `json:"requests"`
}

// flagMeanings are Envoy's response flags in words.
var flagMeanings = map[string]string{
	"UH":    "no healthy upstream",
	"UF":    "upstream connection failure",
	"UO":    "upstream overflow (circuit breaker)",
	"NR":    "no route",
	"URX":   "upstream retries exhausted",
	"NC":    "no cluster (an unknown subset or host)",
	"DT":    "request took longer than its max duration",
	"DC":    "downstream (the caller) disconnected",
	"LH":    "local health check failed",
	"UT":    "upstream timeout",
	"LR":    "connection reset locally",
	"UR":    "upstream reset the connection",
	"UC":    "upstream terminated the connection",
	"DI":    "delay injected (fault injection)",
	"FI":    "fault injected (fault injection)",
	"RL":    "rate limited",
	"UAEX":  "denied by an external authorizer",
	"RLSE":  "rate limit service error",
	"IH":    "invalid header value",
	"SI":    "stream idle timeout",
	"DPE":   "downstream protocol error",
	"UPE":   "upstream protocol error",
	"UMSDR": "upstream max stream duration reached",
	"OM":    "overload manager",
	"DF":    "DNS resolution failed",
	"DENY":  "denied by policy (ztunnel)",
}

// ExplainFlags says what each comma-joined flag means.
func ExplainFlags(flags string) string {
	if flags == "" || flags == "-" {
		return ""
	}
	var words []string
	for _, f := range strings.Split(flags, ",") {
		if m, ok := flagMeanings[f]; ok {
			words = append(words, f+": "+m)
		} else {
			words = append(words, f)
		}
	}
	return strings.Join(words, "; ")
}

// NewObserved sums the counts and says where they disagree with the verdict.
func NewObserved(window string, counts []ResponseCount, verdict, response string) *Observed {
	o := &Observed{Window: window, ByCode: counts}
	sort.SliceStable(o.ByCode, func(i, j int) bool { return o.ByCode[i].Requests > o.ByCode[j].Requests })
	for i := range o.ByCode {
		o.Requests += o.ByCode[i].Requests
		o.ByCode[i].Meaning = ExplainFlags(o.ByCode[i].Flags)
	}
	if o.Requests == 0 {
		return o
	}
	share := func(match func(ResponseCount) bool) float64 {
		var n float64
		for _, c := range o.ByCode {
			if match(c) {
				n += c.Requests
			}
		}
		return n / o.Requests
	}
	ok := share(func(c ResponseCount) bool { return strings.HasPrefix(c.Code, "2") || strings.HasPrefix(c.Code, "3") })
	refused := share(func(c ResponseCount) bool {
		return c.Code == "403" || slices.Contains(strings.Split(c.Flags, ","), "DENY")
	})
	switch {
	case verdict == Allowed && refused > 0.5:
		o.Disagrees = fmt.Sprintf("the configuration allows it, but %.0f%% of the requests seen were refused by policy: the cluster may have changed since, or a policy this view does not read (CUSTOM, another revision) decides", 100*refused)
	case verdict != Allowed && ok > 0.5:
		o.Disagrees = fmt.Sprintf("the configuration predicts %s (%s), but %.0f%% of the requests seen succeeded: the configuration changed within the window, or the request differs from the one asked about", verdict, response, 100*ok)
	}
	return o
}
