//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// bookinfoNamespace loads a fresh bookinfo into its own namespace, so tests can run in parallel.
func bookinfoNamespace(t *testing.T, name string) string {
	t.Helper()
	if err := fixture.LoadBookinfo(t.Context(), name); err != nil {
		t.Fatalf("loading bookinfo into %s: %v", name, err)
	}
	return name
}

const reviewsAllV1 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: %s}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
`

// getObject reads an object with the real kubectl, as JSON.
func getObject(t *testing.T, ns, resource, name string) *unstructured.Unstructured {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", resource, name, "-n", ns, "-o", "json"))
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(r.stdout)); err != nil {
		t.Fatalf("kubectl get %s %s: %v", resource, name, err)
	}
	return obj
}

// routeWeights reads route #index of a VirtualService as "v1 90, v2 10".
func routeWeights(t *testing.T, vs *unstructured.Unstructured, index int) string {
	t.Helper()
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	if index >= len(http) {
		t.Fatalf("VirtualService %s has %d http routes", vs.GetName(), len(http))
	}
	route, _ := http[index].(map[string]any)["route"].([]any)
	var parts []string
	for _, e := range route {
		entry := e.(map[string]any)
		subset, _, _ := unstructured.NestedString(entry, "destination", "subset")
		weight, found, _ := unstructured.NestedInt64(entry, "weight")
		if !found {
			weight = 100
		}
		parts = append(parts, fmt.Sprintf("%s %d", subset, weight))
	}
	return strings.Join(parts, ", ")
}

func assertWeights(t *testing.T, ns, vs, want string) {
	t.Helper()
	if got := routeWeights(t, getObject(t, ns, "virtualservice", vs), 0); got != want {
		t.Errorf("VirtualService %s/%s routes %q, want %q", ns, vs, got, want)
	}
}

// assertAnalyzeClean: istioctl analyze finds no error in ns.
func assertAnalyzeClean(t *testing.T, ns string) {
	t.Helper()
	assertNoNewAnalyzeErrors(t, ns, nil)
}

// assertNoNewAnalyzeErrors: istioctl analyze finds no error in ns beyond those in baseline
// (problems the test set up on purpose).
func assertNoNewAnalyzeErrors(t *testing.T, ns string, baseline []analysis) {
	t.Helper()
	known := map[analysis]bool{}
	for _, a := range baseline {
		known[a] = true
	}
	for _, a := range analyze(t, ns) {
		if !known[a] {
			t.Errorf("istioctl analyze reports a new error in %s: %v", ns, a)
		}
	}
}

func assertOutput(t *testing.T, r result, want string) {
	t.Helper()
	mustSucceed(t, r)
	if r.stdout != want+"\n" {
		t.Errorf("stdout = %q, want %q", r.stdout, want+"\n")
	}
}

// The tutorial's canary, step by step, by both spellings.
func TestCanaryTutorial(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-tutorial")
	apply(t, fmt.Sprintf(reviewsAllV1, ns))

	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns), "reviews: v1 90%, v2 10% (was v1 100%)")
	assertWeights(t, ns, "reviews", "v1 90, v2 10")
	assertAnalyzeClean(t, ns)

	assertOutput(t, plugin(t, cluster, "mesh-canary", "reviews", "60", "-n", ns), "reviews: v1 40%, v2 60% (was v1 90%, v2 10%)")
	// v2 now carries most weight, but the record keeps it the canary.
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "70", "-n", ns), "reviews: v1 30%, v2 70% (was v1 40%, v2 60%)")
	assertWeights(t, ns, "reviews", "v1 30, v2 70")
	assertAnalyzeClean(t, ns)

	status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
	for _, want := range []string{
		"reviews (namespace canary-tutorial): VirtualService reviews, route #0\n",
		"canary in progress: v1 stable, v2 canary\n",
		"v1       stable   30%      1/1\n",
		"v2       canary   70%      1/1\n",
		"v3       -        0%       1/1\n",
	} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}

	assertOutput(t, plugin(t, cluster, "mesh-canary", "reviews", "--rollback", "-n", ns), "reviews: v1 100% (was v1 30%, v2 70%); rolled back to v1")
	assertWeights(t, ns, "reviews", "v1 100")
	if _, open := getObject(t, ns, "virtualservice", "reviews").GetAnnotations()["kubectl-mesh.dev/canary"]; open {
		t.Error("rollback left the canary record on the VirtualService")
	}
	assertAnalyzeClean(t, ns)
	// Rolling back twice is fine.
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "--rollback", "-n", ns), "reviews: v1 100% (unchanged)")
}

// No VirtualService yet: one is created, labelled as ours; promote makes the canary stable,
// and the next canary is the next subset.
func TestCanaryCreatesAndPromotes(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-create")
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns), "reviews: v1 90%, v2 10% (was no VirtualService: spread over all pods)")
	vs := getObject(t, ns, "virtualservice", "reviews")
	if vs.GetLabels()["app.kubernetes.io/managed-by"] != "kubectl-mesh" {
		t.Errorf("created VirtualService lacks the managed-by label: %v", vs.GetLabels())
	}
	assertWeights(t, ns, "reviews", "v1 90, v2 10")
	assertAnalyzeClean(t, ns)

	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "--promote", "-n", ns), "reviews: v2 100% (was v1 90%, v2 10%); v2 promoted, now stable")
	assertWeights(t, ns, "reviews", "v2 100")
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "25", "-n", ns), "reviews: v2 75%, v3 25% (was v2 100%)")
	assertAnalyzeClean(t, ns)
}

func TestCanaryDryRun(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-dry-run")
	// Nothing to update yet: dry runs of a create leave no VirtualService behind.
	for _, mode := range []string{"client", "server"} {
		r := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns, "--dry-run="+mode))
		if want := "reviews: v1 90%, v2 10% (was no VirtualService: spread over all pods) (" + map[string]string{"client": "dry run", "server": "server dry run"}[mode] + ")\n"; r.stdout != want {
			t.Errorf("--dry-run=%s: stdout %q, want %q", mode, r.stdout, want)
		}
	}
	if r := kubectl(t, "get", "virtualservices", "-n", ns, "-o", "name"); r.stdout != "" {
		t.Errorf("a dry run created %s", r.stdout)
	}

	apply(t, fmt.Sprintf(reviewsAllV1, ns))
	before := getObject(t, ns, "virtualservice", "reviews")
	for _, mode := range []string{"client", "server"} {
		r := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns, "--dry-run="+mode, "-o", "yaml"))
		objects, err := manifest.Decode([]byte(r.stdout))
		if err != nil || len(objects) != 1 {
			t.Fatalf("--dry-run=%s -o yaml printed %d objects (%v):\n%s", mode, len(objects), err, r.stdout)
		}
		printed := objects[0]
		if got := routeWeights(t, printed, 0); got != "v1 90, v2 10" {
			t.Errorf("--dry-run=%s -o yaml shows %q", mode, got)
		}
		if printed.GetKind() != "VirtualService" || printed.GetAPIVersion() != "networking.istio.io/v1" {
			t.Errorf("--dry-run=%s -o yaml printed kind %q apiVersion %q", mode, printed.GetKind(), printed.GetAPIVersion())
		}
	}
	after := getObject(t, ns, "virtualservice", "reviews")
	if after.GetResourceVersion() != before.GetResourceVersion() {
		t.Error("a dry run changed the VirtualService")
	}
	r := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns, "-o", "name"))
	if r.stdout != "virtualservice.networking.istio.io/reviews configured\n" {
		t.Errorf("-o name printed %q", r.stdout)
	}
	r = mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns, "-o", "json"))
	var printed map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &printed); err != nil || printed["kind"] != "VirtualService" {
		t.Errorf("-o json printed %q (%v)", r.stdout, err)
	}
}

// Traffic is never sent to a subset Envoy cannot serve, unless --force.
func TestCanaryRefusesUnservableSubsets(t *testing.T) {
	t.Parallel()
	ns := "canary-unservable"
	if err := fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		t.Fatal(err)
	}
	// Subsets not named v1/v2; "beta" has a pod that is not ready, "gamma" has none at all.
	if err := fixture.LoadApp(t.Context(), ns,
		testcluster.Workload{App: "web", Version: "alpha", ServiceAccount: "web", Replicas: 2, Ready: 2},
		testcluster.Workload{App: "web", Version: "beta", ServiceAccount: "web", Replicas: 1, Ready: 0},
	); err != nil {
		t.Fatal(err)
	}
	apply(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: canary-unservable}
spec:
  host: web.canary-unservable.svc.cluster.local
  subsets:
  - {name: alpha, labels: {version: alpha}}
  - {name: beta, labels: {version: beta}}
  - {name: gamma, labels: {version: gamma}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: canary-unservable}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web, subset: alpha}
`)
	before := getObject(t, ns, "virtualservice", "web")
	// Subset gamma selects no pods (IST0173): the test's doing, not the plugin's.
	baseline := analyze(t, ns)
	if len(baseline) != 1 || baseline[0].Code != "IST0173" {
		t.Fatalf("want the oracle to flag subset gamma (IST0173), got %v", baseline)
	}
	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"web", "10"}, `web: subset "beta" selects no ready pods (1 pods, 0 ready; 503 UH in Envoy); deploy beta first or pass --force`},
		{[]string{"web", "10", "--canary", "gamma"}, `web: subset "gamma" selects no ready pods (0 pods, 0 ready; 503 UH in Envoy)`},
		{[]string{"web", "10", "--canary", "delta"}, `web: subset "delta" is not in DestinationRule web (subsets: alpha, beta, gamma; 503 NC in Envoy); add it or pass --force`},
	}
	for _, tt := range refusals {
		for _, spelling := range [][]string{{"mesh", "canary"}, {"mesh-canary"}} {
			r := plugin(t, cluster, append(append(spelling, tt.args...), "-n", ns)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("%v: want exit 1 and %q, got:\n%s", tt.args, tt.want, r)
			}
			assertNoStackTrace(t, r)
		}
	}
	if after := getObject(t, ns, "virtualservice", "web"); after.GetResourceVersion() != before.GetResourceVersion() {
		t.Error("a refused canary changed the VirtualService")
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)

	r := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "web", "10", "-n", ns, "--force"))
	if r.stdout != "web: alpha 90%, beta 10% (was alpha 100%)\n" || !strings.Contains(r.stderr, `warning: web: subset "beta" selects no ready pods`) {
		t.Errorf("--force: want the change and a warning, got:\n%s", r)
	}
	assertWeights(t, ns, "web", "alpha 90, beta 10")
	// analyze flags subsets without pods, not unready ones: beta (one unready pod) passes.
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// Hosts written as FQDN, the service named with its namespace, a kubeconfig pointing elsewhere.
func TestCanaryFQDNInAnotherNamespace(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-fqdn")
	apply(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-routing, namespace: canary-fqdn}
spec:
  hosts: [reviews.canary-fqdn.svc.cluster.local]
  http:
  - route:
    - destination: {host: reviews.canary-fqdn.svc.cluster.local, subset: v1}
      weight: 100
`)
	// The kubeconfig's namespace is default; the service's namespace comes from its name.
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews.canary-fqdn.svc.cluster.local", "20"), "reviews: v1 80%, v2 20% (was v1 100%)")
	assertOutput(t, plugin(t, cluster, "mesh-canary", "reviews.canary-fqdn", "30", "--canary", "v2"), "reviews: v1 70%, v2 30% (was v1 80%, v2 20%)")
	assertWeights(t, ns, "reviews-routing", "v1 70, v2 30")
	assertAnalyzeClean(t, ns)
	// Namespace default, the kubeconfig's, got no VirtualService for reviews.
	if r := kubectl(t, "get", "virtualservice", "reviews", "-n", "default"); r.code == 0 || !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("default got a VirtualService for reviews:\n%s", r)
	}
	r := plugin(t, cluster, "mesh", "canary", "reviews.canary-fqdn", "30", "-n", "default")
	if r.code != 1 || !strings.Contains(r.stderr, `names namespace "canary-fqdn" but -n says "default"`) {
		t.Errorf("contradicting -n: %s", r)
	}
}

// Only weights change: matches, retries, timeouts, fault, mirror, headers, labels, annotations
// and other routes stay exactly as they were.
func TestCanaryTouchesOnlyWeights(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-fields")
	apply(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: canary-fields
  labels: {team: reviews}
  annotations: {owner: team-reviews}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: reviews, subset: v2}
  - name: default
    timeout: 10s
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure"}
    fault:
      delay: {percentage: {value: 0.1}, fixedDelay: 5s}
    mirror: {host: reviews, subset: v3}
    mirrorPercentage: {value: 5}
    headers:
      request:
        set: {x-tool: kubectl-mesh}
    route:
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      headers:
        response:
          add: {x-served-by: stable}
`)
	before := getObject(t, ns, "virtualservice", "reviews")
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns), "reviews: v1 90%, v2 10% (was v1 100%)")
	after := getObject(t, ns, "virtualservice", "reviews")

	http, _, _ := unstructured.NestedSlice(after.Object, "spec", "http")
	if got := routeWeights(t, after, 1); got != "v1 90, v2 10" {
		t.Errorf("catch-all route: %q", got)
	}
	// The canary's destination copies stable's host and port.
	canaryEntry := http[1].(map[string]any)["route"].([]any)[1].(map[string]any)
	if port, _, _ := unstructured.NestedInt64(canaryEntry, "destination", "port", "number"); port != 9080 {
		t.Errorf("canary destination lost the port: %v", canaryEntry)
	}
	// Set aside what may change (weights of the catch-all route, the record, server fields).
	for _, obj := range []*unstructured.Unstructured{before, after} {
		routes, _, _ := unstructured.NestedSlice(obj.Object, "spec", "http")
		entries := routes[1].(map[string]any)["route"].([]any)
		routes[1].(map[string]any)["route"] = entries[:1]
		delete(entries[0].(map[string]any), "weight")
		unstructured.SetNestedSlice(obj.Object, routes, "spec", "http")
		annotations := obj.GetAnnotations()
		delete(annotations, "kubectl-mesh.dev/canary")
		delete(annotations, "kubectl.kubernetes.io/last-applied-configuration")
		obj.SetAnnotations(annotations)
		for _, f := range []string{"resourceVersion", "generation", "managedFields"} {
			unstructured.RemoveNestedField(obj.Object, "metadata", f)
		}
	}
	if !equality.Semantic.DeepEqual(before.Object, after.Object) {
		t.Errorf("fields other than weights changed:\nbefore: %v\nafter:  %v", before.Object, after.Object)
	}
	assertAnalyzeClean(t, ns)
}

// Several routes and no catch-all: stop and list them; --route picks one, others untouched.
func TestCanaryRouteSelection(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-routes")
	apply(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: canary-routes}
spec:
  hosts: [reviews]
  http:
  - name: api
    match:
    - uri: {prefix: /api}
    route:
    - destination: {host: reviews, subset: v1}
  - name: web
    match:
    - uri: {prefix: /}
    route:
    - destination: {host: reviews, subset: v1}
`)
	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns)
	for _, want := range []string{"has 2 routes and none is a catch-all", "--route NAME", "#0 name=api match: uri prefix /api", "#1 name=web match: uri prefix /"} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("ambiguous route: want %q in:\n%s", want, r)
		}
	}
	assertOutput(t, plugin(t, cluster, "mesh-canary", "reviews", "10", "--route", "web", "-n", ns), "reviews: v1 90%, v2 10% (was v1 100%)")
	vs := getObject(t, ns, "virtualservice", "reviews")
	if got0, got1 := routeWeights(t, vs, 0), routeWeights(t, vs, 1); got0 != "v1 100" || got1 != "v1 90, v2 10" {
		t.Errorf("routes: api %q, web %q", got0, got1)
	}
	assertAnalyzeClean(t, ns)
}

func TestCanaryBadInput(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-bad-input")
	apply(t, fmt.Sprintf(reviewsAllV1, ns))
	before := getObject(t, ns, "virtualservice", "reviews")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"reviews", "150"}, "error: PERCENT 150 is out of range: give a whole number from 0 to 100"},
		{[]string{"reviews", "abc"}, `error: PERCENT "abc" is not a whole number`},
		{[]string{"reviewz", "10"}, `error: service "reviewz" not found in namespace "canary-bad-input"`},
		{[]string{"reviews", "10", "--canary", "v7"}, `subset "v7" is not in DestinationRule reviews`},
		{[]string{"reviews", "10", "--promote"}, "give either PERCENT or --promote/--rollback"},
		{[]string{"reviews", "--promote"}, "no canary in progress"},
		{[]string{}, "name the service"},
	}
	for _, tt := range tests {
		for _, spelling := range [][]string{{"mesh", "canary"}, {"mesh-canary"}} {
			r := plugin(t, cluster, append(append(spelling, tt.args...), "-n", ns)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v %v: want exit 1 and %q, got:\n%s", spelling, tt.args, tt.want, r)
			}
			assertNoStackTrace(t, r)
		}
	}
	if after := getObject(t, ns, "virtualservice", "reviews"); after.GetResourceVersion() != before.GetResourceVersion() {
		t.Error("bad input changed the VirtualService")
	}
}

// A user who may read but not write gets RBAC's answer and changes nothing.
func TestCanaryForbidden(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-rbac")
	apply(t, fmt.Sprintf(reviewsAllV1, ns)+`---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: mesh-reader, namespace: canary-rbac}
rules:
- apiGroups: [""]
  resources: [services, pods]
  verbs: [get, list]
- apiGroups: [networking.istio.io]
  resources: [virtualservices, destinationrules]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer-reads-mesh, namespace: canary-rbac}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: mesh-reader}
subjects:
- {kind: User, name: viewer, apiGroup: rbac.authorization.k8s.io}
`)
	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns, "--context", "viewer")
	if r.code != 1 || !strings.Contains(r.stderr, `User "viewer" cannot update resource "virtualservices"`) || !strings.Contains(r.stderr, "RBAC") {
		t.Errorf("viewer: want a forbidden error naming the verb, got:\n%s", r)
	}
	// Reading is allowed: the status works.
	mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns, "--context", "viewer"))
	// A user with no rights at all is stopped at the first read.
	r = plugin(t, cluster, "mesh-canary", "reviews", "10", "-n", ns, "--context", "nobody")
	if r.code != 1 || !strings.Contains(r.stderr, `User "nobody" cannot get resource "services"`) {
		t.Errorf("nobody: want a forbidden error, got:\n%s", r)
	}
	assertNoStackTrace(t, r)
	assertWeights(t, ns, "reviews", "v1 100")
}

// Several canaries at once and an editor changing another field of the same route: every
// write lands on the latest version, nothing is lost, and the weights are always whole.
func TestCanaryConcurrentWriters(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "canary-race")
	apply(t, fmt.Sprintf(reviewsAllV1, ns))
	mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "5", "-n", ns))

	percents := []int{10, 20, 30, 40, 50, 60}
	const edits = 8
	var wg sync.WaitGroup
	results := make([]result, len(percents))
	for i, p := range percents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = plugin(t, cluster, "mesh", "canary", "reviews", fmt.Sprint(p), "-n", ns)
		}()
	}
	editorErrs := make(chan result, edits)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= edits; i++ {
			// A JSON patch of another field of the same route, and a label: no resourceVersion,
			// so it always applies to the latest object, as a person's kubectl edit would.
			patch := fmt.Sprintf(`[{"op":"add","path":"/spec/http/0/timeout","value":"%ds"}]`, i)
			if r := kubectl(t, "patch", "virtualservice", "reviews", "-n", ns, "--type=json", "-p", patch); r.code != 0 {
				editorErrs <- r
			}
			if r := kubectl(t, "label", "virtualservice", "reviews", "-n", ns, "--overwrite", fmt.Sprintf("edit=%d", i)); r.code != 0 {
				editorErrs <- r
			}
		}
	}()
	wg.Wait()
	close(editorErrs)
	for r := range editorErrs {
		t.Errorf("editor failed:\n%s", r)
	}
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("canary %d%% failed:\n%s", percents[i], r)
		}
	}
	vs := getObject(t, ns, "virtualservice", "reviews")
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	if timeout := http[0].(map[string]any)["timeout"]; timeout != fmt.Sprintf("%ds", edits) {
		t.Errorf("the editor's last timeout was lost: %v", timeout)
	}
	if vs.GetLabels()["edit"] != fmt.Sprint(edits) {
		t.Errorf("the editor's last label was lost: %v", vs.GetLabels())
	}
	got := routeWeights(t, vs, 0)
	valid := false
	for _, p := range percents {
		valid = valid || got == fmt.Sprintf("v1 %d, v2 %d", 100-p, p)
	}
	if !valid {
		t.Errorf("weights %q are none of the requested splits", got)
	}
	assertAnalyzeClean(t, ns)
}
