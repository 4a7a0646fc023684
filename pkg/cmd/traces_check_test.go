package cmd

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// traces SERVICE --check judges the edges into or out of SERVICE only; -o yaml is the same
// report as -o json.
func TestTracesCheckHonoursService(t *testing.T) {
	url, _ := fakeJaeger(t, "reviews.bookinfo-gateway-api", "productpage.bookinfo-gateway-api", "details.bookinfo-gateway-api", "reviews.default", "jaeger")
	stdout, stderr, code := run(nil, "traces", "details", "-n", "bookinfo-gateway-api", "--check", "-o", "json", "--jaeger-url", url)
	var report traces.CheckReport
	if err := json.Unmarshal([]byte(stdout), &report); code != 0 || err != nil {
		t.Fatalf("exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	if len(report.Hops) != 1 || report.Hops[0].Edge.To.Service != "details" {
		t.Errorf("traces details --check judged %v, want only the edge into details", report.Hops)
	}
	yamlOut, stderr, code := run(nil, "traces", "details", "-n", "bookinfo-gateway-api", "--check", "-o", "yaml", "--jaeger-url", url)
	var fromYAML traces.CheckReport
	if err := yaml.Unmarshal([]byte(yamlOut), &fromYAML); code != 0 || err != nil || !reflect.DeepEqual(fromYAML, report) {
		t.Errorf("-o yaml (exit %d, %v, %s):\n%s\nis not -o json's report", code, err, stderr, yamlOut)
	}
	stdout, _, code = run(nil, "traces", "-n", "bookinfo-gateway-api", "--check", "--jaeger-url", url)
	if code != 0 || !strings.Contains(stdout, "istio-system/istio-ingressgateway") {
		t.Errorf("without SERVICE, every edge of the namespace: exit %d\n%s", code, stdout)
	}
}

// --fail-on drops fails on a hop that drops the context wholly or in part, and on nothing else.
func TestTracesFailOnDrops(t *testing.T) {
	hops := func(states ...traces.State) []traces.Verdict {
		var out []traces.Verdict
		for _, s := range states {
			out = append(out, traces.Verdict{State: s})
		}
		return out
	}
	o := &TracesOptions{FailOn: "drops"}
	if err := o.failOn(hops(traces.Propagates, traces.Starts, traces.Unknown)); err != nil {
		t.Errorf("no hop drops: %v", err)
	}
	if err := o.failOn(hops(traces.Propagates, traces.Drops, traces.PartlyDrops)); err == nil || err.Error() != "2 of 3 hops drop trace context (--fail-on drops)" {
		t.Errorf("two hops drop: %v", err)
	}
	o.FailOn = "none"
	if err := o.failOn(hops(traces.Drops)); err != nil {
		t.Errorf("--fail-on none: %v", err)
	}
}

// Without a kubeconfig, traces looks in every namespace, and says so.
func TestTracesSaysItWidens(t *testing.T) {
	url, _ := fakeJaeger(t, "reviews.bookinfo-gateway-api", "productpage.bookinfo-gateway-api", "details.bookinfo-gateway-api")
	_, stderr, code := run(nil, "traces", "--jaeger-url", url)
	if code != 0 || !strings.Contains(stderr, "looking in every namespace; pass -n NAMESPACE to narrow it") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, _ = run(nil, "traces", "-n", "bookinfo-gateway-api", "--jaeger-url", url)
	if strings.Contains(stderr, "every namespace") {
		t.Errorf("-n given: stderr %q", stderr)
	}
}
