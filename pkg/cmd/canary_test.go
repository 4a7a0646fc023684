package cmd

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
)

// A canary step costs the same few requests however many pods and versions the service has:
// the Service and its namespace, the VirtualServices, DestinationRules, Services,
// EndpointSlices, HTTPRoutes, GRPCRoutes and Argo Rollouts of the namespace; the service's
// pods; one update.
// No discovery request: a cluster without Istio says so by answering the first list 404.
func TestCanaryRequestCountIsConstant(t *testing.T) {
	for _, size := range []struct{ versions, pods int }{{3, 1}, {10, 50}} {
		f := newFakeCluster(size.versions, size.pods)
		stdout, stderr, code := run(f, "canary", "reviews", "10")
		if code != 0 {
			t.Fatal(stderr)
		}
		if stdout != "reviews: v1 90%, v2 10% (was v1 100%)\n" {
			t.Errorf("stdout %q", stdout)
		}
		if got := f.requests(); got != 11 {
			t.Errorf("%d subsets x %d pods: %d requests, want 11", size.versions, size.pods, got)
		}
	}
}

// Three sequential round trips: everything of the namespace at once, then the service's pods
// (the Service names them), then the update.
func TestCanaryRoundTrips(t *testing.T) {
	n, stderr, code := roundTrips(t, func() *fakeCluster { return newFakeCluster(10, 50) }, "canary", "reviews", "10")
	if code != 0 {
		t.Fatal(stderr)
	}
	if n != 3 {
		t.Errorf("%d sequential round trips, want 3 (at most 4)", n)
	}
}

func TestCanaryStatusMakesNoWrite(t *testing.T) {
	t.Setenv("MESH_PROMETHEUS_URL", "") // no live figures: the fake cluster has no Prometheus either
	f := newFakeCluster(3, 2)
	stdout, stderr, code := run(f, "canary", "reviews")
	if code != 0 || !strings.Contains(stderr, "note: no live figures") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := `reviews (namespace default): VirtualService reviews, route #0

SUBSET   ROLE     WEIGHT   READY
v1       stable   100%     2/2
v2       -        0%       2/2
v3       -        0%       2/2
`
	if stdout != want {
		t.Errorf("status:\n%s\nwant:\n%s", stdout, want)
	}
	actions := f.dynamic.Actions()
	if len(actions) == 0 {
		t.Fatal("status read no VirtualService")
	}
	for _, a := range actions {
		if a.GetVerb() != "list" {
			t.Errorf("status made a %s request", a.GetVerb())
		}
	}
}

func BenchmarkCanaryStep(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		f := newFakeCluster(5, 20)
		b.StartTimer()
		if _, stderr, code := run(f, "canary", "reviews", "10"); code != 0 {
			b.Fatal(stderr)
		}
	}
}

// --auto refuses, before moving any traffic, a canary whose subset has no version label:
// its telemetry could not be told apart from stable's.
func TestCanaryAutoRefusesUnjudgeableSubsets(t *testing.T) {
	f := newFakeCluster(3, 1)
	dr, err := f.istio.NetworkingV1().DestinationRules("default").Get(context.Background(), "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dr.Spec.Subsets[1].Labels = map[string]string{"track": "canary"}
	if _, err := f.istio.NetworkingV1().DestinationRules("default").Update(context.Background(), dr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MESH_PROMETHEUS_URL", "http://127.0.0.1:1")
	_, stderr, code := run(f, "canary", "reviews", "--auto", "--steps", "10,100", "--interval", "1s", "--force")
	if code != 1 || !strings.Contains(stderr, "does not select pods by a version label") {
		t.Fatalf("want a refusal naming the missing version label, got exit %d: %s", code, stderr)
	}
	actions := f.dynamic.Actions()
	if len(actions) == 0 {
		t.Fatal("--auto read no VirtualService before refusing")
	}
	for _, a := range actions {
		if a.GetVerb() != "list" {
			t.Errorf("a refused --auto made a %s request", a.GetVerb())
		}
	}
}

func TestCanaryAutoValidation(t *testing.T) {
	for args, want := range map[string]string{
		"reviews --auto --steps 50,25":           "--steps must ascend: 25 comes after 50",
		"reviews --auto --steps 0,50":            "--steps: 0 is not a weight from 1 to 100",
		"reviews 10 --auto":                      "--auto takes its weights from --steps",
		"reviews --auto --interval 100ms":        "--interval 100ms is too short",
		"reviews --auto --max-error-rate 150":    "--max-error-rate 150: give a percentage from 0 to 100",
		"reviews --auto -o yaml":                 "--auto changes weights over time: it takes no -o",
		"reviews --auto --max-p99-ratio -1":      "--max-p99-ratio -1: give a ratio above 0",
		"reviews --auto --max-error-increase -2": "--max-error-increase -2: give percentage points",
		"reviews --auto --min-requests -1":       "--min-requests -1: give 0 or more",
		"reviews --auto --max-holds -3":          "--max-holds -3: give 0 or more",
	} {
		_, stderr, code := run(newFakeCluster(3, 1), append([]string{"canary"}, strings.Fields(args)...)...)
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("%s: want exit 1 and %q, got exit %d: %s", args, want, code, stderr)
		}
	}
}

// --auto --dry-run says what it would do and which PromQL judges each step, and sends
// nothing: no write, no query.
func TestCanaryAutoDryRunPrintsThePlan(t *testing.T) {
	t.Setenv("MESH_PROMETHEUS_URL", "http://127.0.0.1:1") // would fail, were it asked
	f := newFakeCluster(3, 1)
	stdout, stderr, code := run(f, "canary", "reviews", "--auto", "--dry-run", "--steps", "20,100", "--interval", "30s", "--max-p99-ratio", "1.5", "--max-error-increase", "2")
	if code != 0 {
		t.Fatal(stderr)
	}
	want := `--auto plan (dry run) for reviews (namespace default): stable v1, canary v2, on VirtualService reviews
  step 1/2: v2 20%, hold 30s, then judge
  step 2/2: v2 100%, hold 30s, then judge
  then promote v2; a failed gate, Ctrl-C or a step that cannot be written rolls back to v1
gates, on each interval's requests: errors 1%, p99 none, errors +2 points over stable, p99 1.5x stable; at least 20 canary requests (else hold, up to 3 more intervals, then roll back)
PromQL, by destination_version (canary v2, stable v1):
  sum by (destination_version, response_code) (rate(istio_requests_total{reporter="destination",destination_service_name=~"reviews",destination_service_namespace="default"}[30s]))
  sum by (destination_version, le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_service_name=~"reviews",destination_service_namespace="default"}[30s]))
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	for _, a := range f.dynamic.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("--auto --dry-run made a %s request", a.GetVerb())
		}
	}
}

// canary SERVICE -o json|yaml, without a change, is the status as data, not the route object.
func TestCanaryStatusAsData(t *testing.T) {
	stdout, stderr, code := run(newFakeCluster(3, 1), "canary", "reviews", "-o", "json")
	var report canary.StatusReport
	if err := json.Unmarshal([]byte(stdout), &report); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s\n%s", code, err, stderr, stdout)
	}
	if report.Service != "reviews" || report.Namespace != "default" || report.Route == nil || report.Route.Kind != "VirtualService" || len(report.Versions) != 3 {
		t.Fatalf("report %+v", report)
	}
	v1 := report.Versions[0]
	if v1.Name != "v1" || v1.Weight == nil || *v1.Weight != 100 || v1.ReadyPods == nil || *v1.ReadyPods != 1 || v1.Role != "stable" {
		t.Errorf("v1: %+v", v1)
	}
	yamlOut, _, code := run(newFakeCluster(3, 1), "canary", "reviews", "-o", "yaml")
	var fromYAML canary.StatusReport
	if err := yaml.Unmarshal([]byte(yamlOut), &fromYAML); code != 0 || err != nil || !reflect.DeepEqual(fromYAML, report) {
		t.Errorf("-o yaml (exit %d, %v):\n%s\nis not -o json's report", code, err, yamlOut)
	}
}
