//go:build e2e

package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// The sandbox's sidecars send their spans to its Jaeger: traces shows the slowest through
// reviews, --check names reviews (which does not forward the headers), version by version,
// and no other hop, and graph --traces gives each HTTP edge its slowest trace; once
// reviews-v3 forwards the headers, --check names reviews@v2 alone.
func TestTracesInTheSandbox(t *testing.T) {
	sb := startTracedSandbox(t)
	path := plugins(t)
	jaeger := []string{"--jaeger-url", sb.JaegerURL, "--prometheus-url", sb.PrometheusURL}

	// Wait until every edge has the handful of traces a verdict needs, and every edge checked
	// below is in: they do not all arrive at once (reviews' calls to ratings start traces of
	// their own).
	wantRows := []string{"default/productpage@v1 default/details@v1", "default/reviews@v2 default/ratings@v1", "default/reviews@v3 default/ratings@v1"}
	var check run
	// A bound, not a wait: on two cores beside the end-to-end suite, the first traces of every
	// version's edge have taken over two minutes to be in.
	deadline := time.Now().Add(4 * time.Minute)
	for {
		check = kubectl(t, path, sb, append([]string{"mesh", "traces", "-n", "default", "--check", "--window", "5m"}, jaeger...)...)
		seen, rows := check.code == 0 && !strings.Contains(check.stdout, "unknown"), checkRows(check.stdout)
		for _, row := range wantRows {
			seen = seen && rows[row]
		}
		if seen || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second) // polling Jaeger through the plugin, not waiting on a guess
	}
	// Edges per canonical service and revision, as graph's are per workload: both versions of
	// reviews that call ratings drop the context, and each is named.
	for _, want := range []string{
		"default/" + sandbox.DropsTraceContext + "@v2 drops the trace context: make default/reviews@v2 copy traceparent",
		"default/" + sandbox.DropsTraceContext + "@v3 drops the trace context: make default/reviews@v3 copy traceparent",
	} {
		if !strings.Contains(check.stdout, want) {
			t.Errorf("--check lacks %q:\n%+v", want, check)
		}
	}
	table, _, _ := strings.Cut(check.stdout, "\n\n") // the rows, before what to do
	rows := map[string]bool{}
	for _, line := range strings.Split(table, "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		rows[fields[0]+" "+fields[1]] = true
		drops := strings.Contains(line, "drops context")
		if want := strings.HasPrefix(fields[0], "default/reviews@") && fields[1] == "default/ratings@v1"; drops != want {
			t.Errorf("--check: %q (only reviews -> ratings drops context)", line)
		}
	}
	for _, want := range wantRows {
		if !rows[want] {
			t.Errorf("--check has no row %s:\n%+v", want, check)
		}
	}
	// In CI: --fail-on drops exits 1 for those hops; SERVICE narrows the check to its edges,
	// and productpage's own calls all keep the context.
	if r := kubectl(t, path, sb, append([]string{"mesh", "traces", "reviews", "-n", "default", "--check", "--window", "5m", "--fail-on", "drops"}, jaeger...)...); r.code != 1 ||
		!strings.Contains(r.stderr, "hops drop trace context (--fail-on drops)") || strings.Contains(r.stdout, "default/details") {
		t.Errorf("traces reviews --check --fail-on drops: %+v", r)
	}
	if r := kubectl(t, path, sb, append([]string{"mesh", "traces", "details", "-n", "default", "--check", "--window", "5m", "--fail-on", "drops"}, jaeger...)...); r.code != 0 {
		t.Errorf("traces details --check --fail-on drops: %+v", r)
	}

	for _, spelling := range [][]string{{"mesh", "traces"}, {"mesh-traces"}} {
		r := kubectl(t, path, sb, append(append(spelling, "reviews", "-n", "default", "--slowest", "3", "-o", "json"), jaeger...)...)
		var report struct {
			Traces []struct {
				DurationMs float64
				Spans      []struct {
					Service  string
					Critical bool
				}
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || len(report.Traces) != 3 {
			t.Fatalf("%v reviews: %v\n%+v", spelling, err, r)
		}
		for i, tr := range report.Traces {
			if i > 0 && tr.DurationMs > report.Traces[i-1].DurationMs {
				t.Errorf("%v: traces not slowest first: %v", spelling, report.Traces)
			}
			through := false
			for _, s := range tr.Spans {
				through = through || s.Service == "reviews"
			}
			if !through || !tr.Spans[0].Critical {
				t.Errorf("%v: trace %d does not go through reviews or its root is off the critical path: %+v", spelling, i, tr.Spans)
			}
		}
	}

	g := graphOf(t, path, sb, "-n", "default", "--window", "5m", "--traces", "--jaeger-url", sb.JaegerURL)
	traced := 0
	for _, e := range g.Edges {
		if e.Protocol == "http" && e.Source.Workload != "unknown" && e.SlowestTrace == "" {
			t.Errorf("graph --traces: %s/%s -> %s/%s has no slowest trace", e.Source.Namespace, e.Source.Workload, e.Destination.Namespace, e.Destination.Workload)
		}
		if e.SlowestTrace != "" {
			traced++
		}
	}
	if traced == 0 {
		t.Errorf("graph --traces set no slowestTrace: %+v", g)
	}

	assertVersionThatDropsIsNamed(t, path, sb, jaeger)
}

// checkRows is traces --check's table as "CALLER CALLEE" rows.
func checkRows(out string) map[string]bool {
	table, _, _ := strings.Cut(out, "\n\n")
	rows := map[string]bool{}
	for _, line := range strings.Split(table, "\n")[1:] {
		if fields := strings.Fields(line); len(fields) >= 4 {
			rows[fields[0]+" "+fields[1]] = true
		}
	}
	return rows
}
