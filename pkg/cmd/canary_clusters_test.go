package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

var virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// canaryCluster is newFakeCluster(3, 1) with an istiod running with CLUSTER_ID id.
func canaryCluster(t *testing.T, id string) *fakeCluster {
	t.Helper()
	f := newFakeCluster(3, 1)
	vs, err := f.dynamic.Resource(virtualServices).Namespace("default").Get(t.Context(), "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	istiod := istiodDeployment(id)
	f.dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		virtualServices: "VirtualServiceList",
		{Group: "apps", Version: "v1", Resource: "deployments"}:                     "DeploymentList",
		{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}: "HTTPRouteList",
		{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "grpcroutes"}: "GRPCRouteList",
		{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}:           "RolloutList",
	}, vs, istiod)
	return f
}

// twoCanaryClusters: contexts east and west, reviews routed all to v1 in each.
func twoCanaryClusters(t *testing.T) (root, east, west *fakeCluster) {
	east, west = canaryCluster(t, "cluster-east"), canaryCluster(t, "cluster-west")
	root = newFakeCluster(1, 1)
	root.contexts = map[string]*fakeCluster{"east": east, "west": west}
	return root, east, west
}

// canaryWeights reads the fake cluster's VirtualService reviews as "v1 90, v2 10".
func canaryWeights(t *testing.T, f *fakeCluster) string {
	t.Helper()
	vs, err := f.dynamic.Resource(virtualServices).Namespace("default").Get(t.Context(), "reviews", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return canaryRouteWeights(vs)
}

func canaryRouteWeights(vs *unstructured.Unstructured) string {
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	var parts []string
	for _, e := range http[0].(map[string]any)["route"].([]any) {
		subset, _, _ := unstructured.NestedString(e.(map[string]any), "destination", "subset")
		weight, found, _ := unstructured.NestedInt64(e.(map[string]any), "weight")
		if !found {
			weight = 100
		}
		parts = append(parts, fmt.Sprintf("%s %d", subset, weight))
	}
	return strings.Join(parts, ", ")
}

// A step written in both clusters, each named by its cluster ID and context.
func TestCanaryContextsStepsEveryCluster(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	stdout, stderr, code := run(root, "canary", "reviews", "10", "--contexts", "east,west")
	if code != 0 {
		t.Fatal(stderr)
	}
	want := "cluster cluster-east (context east): reviews: v1 90%, v2 10% (was v1 100%)\n" +
		"cluster cluster-west (context west): reviews: v1 90%, v2 10% (was v1 100%)\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v1 90, v2 10" {
			t.Errorf("weights %q", got)
		}
	}
}

// A version with a ready pod in one cluster only is served from both: endpoints merge
// across clusters. One ready nowhere is refused, and nothing is written anywhere.
func TestCanaryContextsCountsPodsOfEveryCluster(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	for _, f := range []*fakeCluster{east, west} {
		if err := f.kube.CoreV1().Pods("default").Delete(t.Context(), "reviews-v3-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, code := run(root, "canary", "reviews", "10", "--canary", "v3", "--contexts", "east,west")
	if code != 1 || !strings.Contains(stderr, "nothing was changed in any cluster") || !strings.Contains(stderr, `cluster cluster-east (context east): reviews: subset "v3" selects no ready pods`) {
		t.Errorf("v3 is ready nowhere: exit %d, %s", code, stderr)
	}
	if writes(east)+writes(west) != 0 {
		t.Error("a refused step wrote")
	}
	if err := east.kube.CoreV1().Pods("default").Delete(t.Context(), "reviews-v2-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(root, "canary", "reviews", "10", "--contexts", "east,west"); code != 0 {
		t.Fatalf("v2 is ready in west: %s", stderr)
	}
}

// The second cluster refuses the write: the first is put back, and the error says what
// happened in each cluster.
func TestCanaryContextsPutsBackTheFirstWhenTheSecondFails(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	west.dynamic.PrependReactor("update", "virtualservices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(virtualServices.GroupResource(), "reviews", errors.New("no"))
	})
	_, stderr, code := run(root, "canary", "reviews", "10", "--contexts", "east,west")
	for _, want := range []string{
		"the change failed in cluster cluster-west (context west), so no cluster keeps it",
		"cluster cluster-west (context west): virtualservice/reviews configure failed",
		"cluster cluster-east (context east): put back virtualservice/reviews",
	} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q (exit %d):\n%s", want, code, stderr)
		}
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v1 100" {
			t.Errorf("weights %q after the failure, want v1 100", got)
		}
	}
}

// Routes that differ are refused before anything is written, saying how; --force steps each.
func TestCanaryContextsRefusesRoutesThatDiffer(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	if _, stderr, code := run(west, "canary", "reviews", "10"); code != 0 { // west alone
		t.Fatal(stderr)
	}
	before := writes(east)
	_, stderr, code := run(root, "canary", "reviews", "20", "--contexts", "east,west")
	want := "reviews: cluster cluster-east (context east) sends v1 100; cluster cluster-west (context west) sends v1 90, v2 10"
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("want %q, got exit %d:\n%s", want, code, stderr)
	}
	if writes(east) != before {
		t.Error("east was written")
	}
	if _, stderr, code := run(root, "canary", "reviews", "20", "--contexts", "east,west", "--force"); code != 0 {
		t.Fatal(stderr)
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v1 80, v2 20" {
			t.Errorf("weights %q after --force, want v1 80, v2 20", got)
		}
	}
}

// fakeVersionsPrometheus answers --auto's queries: v1 and v2 at 10 requests per second
// each, v2's with code v2Code; no latency buckets. queries counts its queries.
func fakeVersionsPrometheus(t *testing.T, v2Code string, queries *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		w.Header().Set("Content-Type", "application/json")
		result := "[]"
		if strings.Contains(r.URL.Query().Get("query"), "istio_requests_total") {
			now := time.Now().Unix()
			result = fmt.Sprintf(`[{"metric":{"destination_version":"v1","response_code":"200"},"value":[%d,"10"]},{"metric":{"destination_version":"v2","response_code":%q},"value":[%d,"10"]}]`, now, v2Code, now)
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeMeshPrometheus holds every cluster's requests: v1 answers 200 and v2 answers v2Code[c]
// for the requests served in cluster c (destination_cluster); a query for no one cluster gets
// nothing.
func fakeMeshPrometheus(t *testing.T, v2Code map[string]string, queries *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		w.Header().Set("Content-Type", "application/json")
		result, query := "[]", r.URL.Query().Get("query")
		for cluster, code := range v2Code {
			if strings.Contains(query, "istio_requests_total") && strings.Contains(query, `destination_cluster="`+cluster+`"`) {
				now := time.Now().Unix()
				result = fmt.Sprintf(`[{"metric":{"destination_version":"v1","response_code":"200"},"value":[%d,"10"]},{"metric":{"destination_version":"v2","response_code":%q},"value":[%d,"10"]}]`, now, code, now)
			}
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// --auto over two clusters steps both together and judges the canary on both clusters'
// figures summed: east's alone would pass, west's errors fail it, and both roll back.
func TestCanaryContextsAutoJudgesEveryCluster(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	var eastQueries, westQueries atomic.Int32
	args := []string{"canary", "reviews", "--auto", "--steps", "50,100", "--interval", "1s", "--min-requests", "1", "--max-error-rate", "10", "--contexts", "east,west",
		"--prometheus-url", "cluster-east=" + fakeVersionsPrometheus(t, "200", &eastQueries),
		"--prometheus-url", "cluster-west=" + fakeVersionsPrometheus(t, "503", &westQueries)}
	stdout, stderr, code := run(root, args...)
	if code != 1 || !strings.Contains(stderr, "canary v2 failed at step 1/2 (50%)") || !strings.Contains(stdout, "v2 over 1s: 20.00 req/s, errors 50.0%") {
		t.Fatalf("want step 1 failed on west's errors, got exit %d:\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("per-cluster Prometheus:\n%s%s", stdout, stderr)
	if eastQueries.Load() == 0 || westQueries.Load() == 0 {
		t.Errorf("queries: east %d, west %d; want both asked", eastQueries.Load(), westQueries.Load())
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v1 100" {
			t.Errorf("weights %q after the rollback, want v1 100", got)
		}
	}

	// One Prometheus for the whole mesh is asked once per query, and a canary that passes is
	// promoted in both clusters.
	var global atomic.Int32
	args = append(args[:len(args)-4], "--prometheus-url", fakeVersionsPrometheus(t, "200", &global))
	stdout, stderr, code = run(root, args...)
	if code != 0 || !strings.Contains(stdout, "all 2 steps passed: reviews: v2 100%") {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("one Prometheus for the mesh:\n%s%s", stdout, stderr)
	if got := global.Load(); got != 4 {
		t.Errorf("the global Prometheus got %d queries, want 4 (2 per step)", got)
	}
	for _, f := range []*fakeCluster{east, west} {
		if got := canaryWeights(t, f); got != "v2 100" {
			t.Errorf("weights %q after promotion, want v2 100", got)
		}
	}
}

// --auto --dry-run over two clusters plans every cluster, names them, and writes nothing.
func TestCanaryContextsAutoDryRun(t *testing.T) {
	root, east, west := twoCanaryClusters(t)
	stdout, stderr, code := run(root, "canary", "reviews", "--auto", "--dry-run", "--contexts", "east,west", "--prometheus-url", "http://127.0.0.1:1")
	if code != 0 || !strings.Contains(stdout, "  in every cluster, all or none: cluster cluster-east (context east), cluster cluster-west (context west)") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	if writes(east)+writes(west) != 0 {
		t.Error("--auto --dry-run wrote")
	}
}

// -o over several clusters: the status as data per cluster with whether they agree, a
// change's route per cluster, and -o name lines led by the cluster ID.
func TestCanaryContextsOutput(t *testing.T) {
	root, _, west := twoCanaryClusters(t)
	if _, stderr, code := run(west, "canary", "reviews", "10"); code != 0 {
		t.Fatal(stderr)
	}
	stdout, stderr, code := run(root, "canary", "reviews", "--contexts", "east,west", "-o", "json")
	var status struct {
		Agree       bool     `json:"agree"`
		Differences []string `json:"differences"`
		Clusters    []struct {
			Cluster struct{ ID, Context string } `json:"cluster"`
			Status  struct{ Canary string }      `json:"status"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(stdout), &status); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s\n%s", code, err, stderr, stdout)
	}
	if status.Agree || len(status.Differences) != 2 || len(status.Clusters) != 2 || status.Clusters[1].Cluster.ID != "cluster-west" || status.Clusters[1].Status.Canary != "v2" {
		t.Errorf("status: %+v", status)
	}
	stdout, stderr, code = run(root, "canary", "reviews", "30", "--contexts", "east,west", "--force", "-o", "name")
	want := "cluster-east virtualservice.networking.istio.io/reviews configured\ncluster-west virtualservice.networking.istio.io/reviews configured\n"
	if code != 0 || stdout != want {
		t.Errorf("-o name: exit %d, %q, want %q; %s", code, stdout, want, stderr)
	}
	stdout, stderr, code = run(root, "canary", "reviews", "40", "--contexts", "east,west", "-o", "yaml", "--dry-run")
	var changes struct {
		Clusters []struct {
			Summary string         `json:"summary"`
			Route   map[string]any `json:"route"`
		} `json:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &changes); code != 0 || err != nil || len(changes.Clusters) != 2 ||
		changes.Clusters[0].Summary != "reviews: v1 60%, v2 40% (was v1 70%, v2 30%)" || changes.Clusters[1].Route["kind"] != "VirtualService" {
		t.Errorf("-o yaml: exit %d, %v: %s\n%s", code, err, stderr, stdout)
	}
}

// The status shows each cluster's live figures from its own Prometheus; one Prometheus for
// the whole mesh cannot tell the clusters apart, which a note says.
func TestCanaryContextsStatusLiveFigures(t *testing.T) {
	root, _, _ := twoCanaryClusters(t)
	var eastQueries, westQueries atomic.Int32
	stdout, stderr, code := run(root, "canary", "reviews", "--contexts", "east,west",
		"--prometheus-url", "cluster-east="+fakeVersionsPrometheus(t, "200", &eastQueries),
		"--prometheus-url", "west="+fakeVersionsPrometheus(t, "503", &westQueries))
	for _, want := range []string{
		"cluster cluster-east (context east):\n", "  v2       -        0%       1/1     10.00   0%       -\n",
		"cluster cluster-west (context west):\n", "  v2       -        0%       1/1     10.00   100.0%   -\n",
		"the 2 clusters agree\n",
	} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q (exit %d):\n%s%s", want, code, stdout, stderr)
		}
	}
	// One Prometheus for the whole mesh: each cluster's figures are the requests its pods
	// served (destination_cluster), the same as from its own Prometheus.
	var global atomic.Int32
	stdout, stderr, code = run(root, "canary", "reviews", "--contexts", "east,west", "--prometheus-url", fakeMeshPrometheus(t, map[string]string{"cluster-east": "200", "cluster-west": "503"}, &global))
	for _, want := range []string{
		"cluster cluster-east (context east):\n", "  v2       -        0%       1/1     10.00   0%       -\n",
		"cluster cluster-west (context west):\n", "  v2       -        0%       1/1     10.00   100.0%   -\n",
	} {
		if code != 0 || !strings.Contains(stdout, want) || global.Load() != 4 {
			t.Errorf("one Prometheus for the mesh: status lacks %q (exit %d, %d queries, want 2 per cluster):\n%s%s", want, code, global.Load(), stdout, stderr)
		}
	}
}

// A conflict in the second cluster re-reads it: still agreeing, the step is written there;
// changed meanwhile so that it differs, the step stops and the first cluster is put back.
func TestCanaryContextsConflictRereadsTheCluster(t *testing.T) {
	for _, tt := range []struct {
		name     string
		meantime string // the weights someone else writes into west before its update
		code     int
		want     string // in both clusters afterwards
	}{
		{name: "still agreeing", code: 0, want: "v1 90, v2 10"},
		{name: "now differing", meantime: "v1 60, v2 40", code: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, east, west := twoCanaryClusters(t)
			conflicted := false
			west.dynamic.PrependReactor("update", "virtualservices", func(k8stesting.Action) (bool, runtime.Object, error) {
				if conflicted {
					return false, nil, nil
				}
				conflicted = true
				if tt.meantime != "" {
					setCanaryWeights(t, west, 60, 40)
				}
				return true, nil, apierrors.NewConflict(virtualServices.GroupResource(), "reviews", errors.New("changed"))
			})
			_, stderr, code := run(root, "canary", "reviews", "10", "--contexts", "east,west")
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if tt.code == 0 {
				for _, f := range []*fakeCluster{east, west} {
					if got := canaryWeights(t, f); got != tt.want {
						t.Errorf("weights %q, want %q", got, tt.want)
					}
				}
				return
			}
			if !strings.Contains(stderr, "its route changed while the split was being written and now differs") || !strings.Contains(stderr, "cluster cluster-east (context east): put back") {
				t.Errorf("stderr: %s", stderr)
			}
			if got := canaryWeights(t, east); got != "v1 100" {
				t.Errorf("east %q, want v1 100", got)
			}
			if got := canaryWeights(t, west); got != tt.meantime {
				t.Errorf("west %q, want the other writer's %q", got, tt.meantime)
			}
		})
	}
}

// setCanaryWeights writes v1 and v2 weights into the fake cluster's VirtualService reviews, as
// another writer would.
func setCanaryWeights(t *testing.T, f *fakeCluster, v1, v2 int64) {
	t.Helper()
	obj, err := f.dynamic.Tracker().Get(virtualServices, "default", "reviews") // not the client: reactors run under its lock
	if err != nil {
		t.Fatal(err)
	}
	vs := obj.(*unstructured.Unstructured).DeepCopy()
	route := []any{
		map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}, "weight": v1},
		map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v2"}, "weight": v2},
	}
	if err := unstructured.SetNestedSlice(vs.Object, []any{map[string]any{"route": route}}, "spec", "http"); err != nil {
		t.Fatal(err)
	}
	if err := f.dynamic.Tracker().Update(virtualServices, vs, "default"); err != nil {
		t.Fatal(err)
	}
}
