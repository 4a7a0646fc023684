package graph

import (
	"testing"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// Each source report is judged by all its flags: what never reached the destination's proxy
// is added to the destination's reports once, what reached it is already there.
func TestResponseFlagsCountEachRequestOnce(t *testing.T) {
	for _, tc := range []struct {
		flags, code string
		// added: the source's request is one the destination never reported.
		added bool
	}{
		{"-", "200", false},
		{"UF", "503", true},
		{"UF,URX", "503", true}, // every attempt failed to connect
		{"URX,UF", "503", true},
		{"URX", "503", false}, // every attempt answered by the destination, which reported each
		{"UH", "503", true},
		{"UH,URX", "503", true},
		{"UO", "503", true},
		{"UO,URX", "503", true},
		{"NR", "404", true},
		{"NC", "503", true},
		{"UC", "503", true},
		{"UC,URX", "503", true},
		{"FI", "500", true},
		{"DI,FI", "503", true}, // delayed, then aborted: still never sent
		{"DI", "200", false},
		{"FI", "400", true},
		{"RL", "429", true},
		{"UAEX", "403", true},
		{"RLSE", "500", true},
		{"IH", "400", true},
		{"DPE", "400", true},
		{"OM", "503", true},
		{"DF", "503", true},
		{"DO", "503", true},
		{"UT", "504", false}, // the destination had it, and reported it
		{"UT,URX", "504", false},
		{"UR", "503", false},
		{"LR", "503", false},
		{"UPE", "502", false},
		{"UMSDR", "504", false},
		{"SI", "408", false},
		{"DC", "0", false}, // the caller went away: the destination reported what it got
		{"DR", "0", false},
		{"DC,UF", "0", true},
	} {
		t.Run(tc.flags+"/"+tc.code, func(t *testing.T) {
			s := &telemetry.Samples{Requests: model.Vector{
				req("destination", productpage, reviews1, "reviews", "200", "-", "mutual_tls", 8),
				req("destination", productpage, reviews1, "reviews", "503", "URX", "mutual_tls", 2), // the destination's own view
				req("source", productpage, reviews1, "reviews", "200", "-", "unknown", 8),
				req("source", productpage, reviews1, "reviews", tc.code, tc.flags, "unknown", 1),
			}}
			e := find(t, Build(s, "5m", ""), "default/productpage-v1", "default/reviews-v1")
			total, errors, clientErrors, denied := 10.0, 2.0, 0.0, 0.0
			if tc.added {
				total++
				switch c := tc.code; {
				case c == "0" || c[0] == '5':
					errors++
				case c == "403":
					clientErrors++
					denied++
				case c[0] == '4':
					clientErrors++
				}
			}
			if !near(e.RPS, total) || !near(e.ErrorRate, errors/total) || !near(e.ClientErrorRate, clientErrors/total) || !near(e.DeniedRate, denied/total) {
				t.Errorf("rps %v errors %v 4xx %v 403 %v; want %v %v %v %v", e.RPS, e.ErrorRate, e.ClientErrorRate, e.DeniedRate,
					total, errors/total, clientErrors/total, denied/total)
			}
			if e.Reporter != "destination" || *e.MTLS != 1 {
				t.Errorf("reporter %s mTLS %v: the destination's reports are the edge's", e.Reporter, *e.MTLS)
			}
		})
	}
}

// With no destination report (no sidecar there, or nothing reached it), the source's reports
// are the edge, whatever their flags.
func TestResponseFlagsSourceAlone(t *testing.T) {
	s := &telemetry.Samples{Requests: model.Vector{
		req("source", reviews2, ratings, "ratings", "200", "-", "unknown", 3),
		req("source", reviews2, ratings, "ratings", "503", "URX", "unknown", 1),
		req("source", reviews2, ratings, "ratings", "503", "UF,URX", "unknown", 1),
	}}
	e := find(t, Build(s, "5m", ""), "default/reviews-v2", "default/ratings-v1")
	if e.RPS != 5 || !near(e.ErrorRate, 0.4) || e.Reporter != "source" || e.MTLS != nil {
		t.Errorf("%+v", e)
	}
}

func TestFlagSets(t *testing.T) {
	for _, tc := range []struct {
		flags, flag string
		has         bool
	}{
		{"DENY", "DENY", true},
		{"CONNECT,DENY", "DENY", true},
		{"-", "DENY", false},
		{"DENYX", "DENY", false},
		{"", "DENY", false},
	} {
		if got := hasFlag(tc.flags, tc.flag); got != tc.has {
			t.Errorf("hasFlag(%q, %q) = %v", tc.flags, tc.flag, got)
		}
	}
}
