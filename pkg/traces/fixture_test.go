package traces

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// traceOf builds a trace from lines "ID PARENT NAMESPACE/SERVICE KIND START_MS DURATION_MS
// CODE CALLS" (PARENT and CALLS "-" for none), as the proxies of bookinfo would report it.
func traceOf(t testing.TB, id, table string) Trace {
	t.Helper()
	tr := Trace{ID: id}
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		f := strings.Fields(line)
		if len(f) != 8 {
			t.Fatalf("traceOf: %q has %d fields, want 8", line, len(f))
		}
		start, _ := strconv.ParseFloat(f[4], 64)
		dur, _ := strconv.ParseFloat(f[5], 64)
		code, _ := strconv.Atoi(f[6])
		s := Span{ID: f[0], Workload: workloadOf(f[2]), Kind: Kind(f[3]), StatusCode: code,
			Start: epoch.Add(time.Duration(start * float64(time.Millisecond))), Duration: time.Duration(dur * float64(time.Millisecond))}
		if f[1] != "-" {
			s.ParentID = f[1]
		}
		if f[7] != "-" {
			s.Calls = workloadOf(f[7])
			s.Operation = s.Calls.Service + "." + s.Calls.Namespace + ".svc.cluster.local:9080/*"
		} else {
			s.Operation = s.Workload.Service + "." + s.Workload.Namespace + ".svc.cluster.local:9080/*"
		}
		if s.Kind == "-" {
			s.Kind = Other
		}
		tr.Spans = append(tr.Spans, s)
	}
	return tr
}

// workloadOf reads NAMESPACE/SERVICE[@REVISION].
func workloadOf(s string) Workload {
	s, rev, _ := strings.Cut(s, "@")
	ns, svc, _ := strings.Cut(s, "/")
	return Workload{Service: svc, Namespace: ns, Revision: rev}
}

// bookinfoTrace: the gateway, productpage calling details then reviews, reviews calling
// ratings; reviews' call to ratings takes most of the time.
const bookinfoTrace = `
gw  -   istio-system/istio-ingressgateway client 0   100 200 default/productpage
pp  gw  default/productpage                server 2   97  200 -
ppd pp  default/productpage                client 5   10  200 default/details
d   ppd default/details                    server 6   8   200 -
ppr pp  default/productpage                client 20  75  200 default/reviews
r   ppr default/reviews                    server 22  71  200 -
rr  r   default/reviews                    client 30  60  503 default/ratings
ra  rr  default/ratings                    server 32  56  503 -
`
