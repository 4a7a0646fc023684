//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// canaryObject reads an object in one cluster of the mesh with the real kubectl, as JSON.
func (c *meshCluster) canaryObject(t *testing.T, ns, resource, name string) *unstructured.Unstructured {
	t.Helper()
	r := mustSucceed(t, c.kubectl(t, "get", resource, name, "-n", ns, "-o", "json"))
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(r.stdout)); err != nil {
		t.Fatalf("kubectl get %s %s in %s: %v", resource, name, c.Context, err)
	}
	return obj
}

// assertCanaryWeightsIn: the VirtualService's first route in cluster c sends want ("v1 90, v2 10").
func assertCanaryWeightsIn(t *testing.T, c *meshCluster, ns, vs, want string) {
	t.Helper()
	if got := routeWeights(t, c.canaryObject(t, ns, "virtualservice", vs), 0); got != want {
		t.Errorf("%s: VirtualService %s/%s routes %q, want %q", c.Context, ns, vs, got, want)
	}
}

// assertNoCanaryRecordIn: no canary is recorded on the VirtualService in cluster c.
func assertNoCanaryRecordIn(t *testing.T, c *meshCluster, ns, vs string) {
	t.Helper()
	if _, open := c.canaryObject(t, ns, "virtualservice", vs).GetAnnotations()["kubectl-mesh.dev/canary"]; open {
		t.Errorf("%s: VirtualService %s/%s carries a canary record", c.Context, ns, vs)
	}
}

// assertCanaryAnalyzeClean: the real istioctl analyze finds no error in ns of cluster c.
func (c *meshCluster) assertCanaryAnalyzeClean(t *testing.T, ns string) {
	t.Helper()
	r := run(t, command{name: filepath.Join(binDir, "istioctl"), args: []string{"analyze", "--kubeconfig", c.Cluster.Kubeconfig, "-n", ns, "-o", "json"}})
	if r.code != 0 && r.code != 79 {
		t.Fatalf("istioctl analyze in %s failed:\n%s", c.Context, r)
	}
	var all []analysis
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatalf("istioctl analyze -o json in %s printed something else (%v):\n%s", c.Context, err, r)
	}
	for _, a := range all {
		if a.Level == "Error" {
			t.Errorf("istioctl analyze reports an error in %s of %s: %v", ns, c.Context, a)
		}
	}
}

const (
	eastName = "cluster cluster-east (context east)"
	westName = "cluster cluster-west (context west)"
)

// Routes that agree: a step, the status, promote, each written in both clusters.
func TestCanaryContextsWritesEveryCluster(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-canary-agree")
	m.both(t, "applying reviews", func(c *meshCluster) error { c.apply(t, fmt.Sprintf(reviewsAllV1, ns)); return nil })

	r := mustSucceed(t, m.mesh(t, "mesh", "canary", "reviews", "10", "-n", ns, "--contexts", "east,west"))
	t.Logf("canary reviews 10 --contexts east,west:\n%s", r)
	want := eastName + ": reviews: v1 90%, v2 10% (was v1 100%)\n" + westName + ": reviews: v1 90%, v2 10% (was v1 100%)\n"
	if r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	for _, c := range []*meshCluster{m.East, m.West} {
		assertCanaryWeightsIn(t, c, ns, "reviews", "v1 90, v2 10")
		c.assertCanaryAnalyzeClean(t, ns)
	}

	status := mustSucceed(t, m.mesh(t, "mesh", "canary", "reviews", "-n", ns, "--contexts", "east,west"))
	t.Logf("status:\n%s", status)
	for _, want := range []string{eastName + ":\n", westName + ":\n", "canary in progress: v1 stable, v2 canary", "the 2 clusters agree\n"} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}
	js := mustSucceed(t, m.mesh(t, "mesh", "canary", "reviews", "-n", ns, "--contexts", "east,west", "-o", "json"))
	var report struct {
		Agree    bool `json:"agree"`
		Clusters []struct {
			Cluster struct{ Context, ID string }
			Status  struct{ Stable, Canary string }
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &report); err != nil || !report.Agree || len(report.Clusters) != 2 ||
		report.Clusters[1].Cluster.ID != westID || report.Clusters[1].Status.Canary != "v2" {
		t.Errorf("status -o json: %v\n%s", err, js.stdout)
	}

	mustSucceed(t, m.mesh(t, "mesh", "canary", "reviews", "--promote", "-n", ns, "--contexts", "east,west"))
	for _, c := range []*meshCluster{m.East, m.West} {
		assertCanaryWeightsIn(t, c, ns, "reviews", "v2 100")
		assertNoCanaryRecordIn(t, c, ns, "reviews")
		c.assertCanaryAnalyzeClean(t, ns)
	}
}

// Routes that differ: refused, saying how, with nothing changed; --force steps both.
func TestCanaryContextsRefusesRoutesThatDiffer(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-canary-differ")
	m.East.apply(t, fmt.Sprintf(reviewsAllV1, ns))
	m.West.apply(t, fmt.Sprintf(reviewsSplit, ns))
	versions := func() [2]string {
		return [2]string{m.East.canaryObject(t, ns, "virtualservice", "reviews").GetResourceVersion(), m.West.canaryObject(t, ns, "virtualservice", "reviews").GetResourceVersion()}
	}
	before := versions()

	r := m.mesh(t, "mesh", "canary", "reviews", "25", "-n", ns, "--contexts", "east,west")
	t.Logf("routes that differ:\n%s", r)
	if r.code != 1 || !strings.Contains(r.stderr, "reviews: "+eastName+" sends v1 100; "+westName+" sends v1 90, v2 10") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("want a refusal saying how the weights differ, got:\n%s", r)
	}
	assertNoStackTrace(t, r)
	if after := versions(); after != before {
		t.Errorf("a refused step changed the routes: resourceVersions %v, then %v", before, after)
	}
	status := m.mesh(t, "mesh", "canary", "reviews", "-n", ns, "--contexts", "east,west")
	if status.code != 0 || !strings.Contains(status.stdout, "the clusters differ") {
		t.Errorf("status of routes that differ:\n%s", status)
	}

	r = mustSucceed(t, m.mesh(t, "mesh", "canary", "reviews", "25", "-n", ns, "--contexts", "east,west", "--force"))
	t.Logf("--force:\n%s", r)
	for _, c := range []*meshCluster{m.East, m.West} {
		assertCanaryWeightsIn(t, c, ns, "reviews", "v1 75, v2 25")
		c.assertCanaryAnalyzeClean(t, ns)
	}
	// Stepped together, they agree again: no --force needed.
	mustSucceed(t, m.mesh(t, "mesh", "canary", "reviews", "--rollback", "-n", ns, "--contexts", "east,west"))
	for _, c := range []*meshCluster{m.East, m.West} {
		assertCanaryWeightsIn(t, c, ns, "reviews", "v1 100")
	}
}

// readsButCannotUpdate lets editor read what a canary reads in ns of a cluster, and the
// istiod Deployment (its cluster ID), but not update VirtualServices.
func readsButCannotUpdate(ns string) string {
	return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: canary-reader, namespace: %[1]s}
rules:
- apiGroups: [""]
  resources: [services, pods]
  verbs: [get, list]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list]
- apiGroups: [networking.istio.io]
  resources: [virtualservices, destinationrules]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editor-reads-canary, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: canary-reader}
subjects: [{kind: User, name: editor, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: mc-canary-istiod-reader, namespace: istio-system}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: mc-canary-editor-reads-istiod, namespace: istio-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: mc-canary-istiod-reader}
subjects: [{kind: User, name: editor, apiGroup: rbac.authorization.k8s.io}]
`, ns)
}

// The second cluster's write fails: the first is put back, and each cluster is accounted for.
func TestCanaryContextsPutsBackWhenALaterClusterFails(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-canary-fault")
	m.both(t, "applying reviews", func(c *meshCluster) error { c.apply(t, fmt.Sprintf(reviewsAllV1, ns)); return nil })
	m.West.apply(t, readsButCannotUpdate(ns))

	r := m.mesh(t, "mesh", "canary", "reviews", "10", "-n", ns, "--contexts", "east,west-editor")
	t.Logf("west's write forbidden:\n%s", r)
	westEditor := "cluster cluster-west (context west-editor)"
	for _, want := range []string{
		"the change failed in " + westEditor + ", so no cluster keeps it",
		westEditor + `: virtualservice/reviews configure failed`,
		`User "editor" cannot update resource "virtualservices"`,
		eastName + ": put back virtualservice/reviews",
	} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q (exit %d):\n%s", want, r.code, r.stderr)
		}
	}
	assertNoStackTrace(t, r)
	for _, c := range []*meshCluster{m.East, m.West} {
		assertCanaryWeightsIn(t, c, ns, "reviews", "v1 100")
		assertNoCanaryRecordIn(t, c, ns, "reviews")
	}
}

// A cluster that does not answer: nothing is written anywhere, and it is named.
func TestCanaryContextsUnreachableCluster(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-canary-gone")
	m.East.apply(t, fmt.Sprintf(reviewsAllV1, ns))
	before := m.East.canaryObject(t, ns, "virtualservice", "reviews").GetResourceVersion()

	r := m.mesh(t, "mesh", "canary", "reviews", "10", "-n", ns, "--contexts", "east,"+goneContext)
	t.Logf("a cluster gone:\n%s", r)
	if r.code != 1 || !strings.Contains(r.stderr, "cluster "+goneContext) || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("want a refusal naming cluster %s, got:\n%s", goneContext, r)
	}
	assertNoStackTrace(t, r)
	if after := m.East.canaryObject(t, ns, "virtualservice", "reviews").GetResourceVersion(); after != before {
		t.Errorf("east was written though gone did not answer (resourceVersion %s, then %s)", before, after)
	}
	// The status is read-only: it goes on with east, and says so.
	status := m.mesh(t, "mesh", "canary", "reviews", "-n", ns, "--contexts", "east,"+goneContext)
	if status.code != 0 || !strings.Contains(status.stdout, eastName+":\n") || !strings.Contains(status.stderr, goneContext) {
		t.Errorf("status with a cluster gone:\n%s", status)
	}
}

// versionRequests are the request rates by version and code a cluster's Prometheus answers
// --auto with (10 per second each): v2's answered with v2Code.
func versionRequests(v2Code string) []series {
	return []series{
		{labels: map[string]string{"destination_version": "v1", "response_code": "200"}, value: 10},
		{labels: map[string]string{"destination_version": "v2", "response_code": v2Code}, value: 10},
	}
}

// --auto over both clusters: each step written in both, judged on both clusters' figures
// summed; west's errors alone fail the canary, and both clusters roll back; once west is
// healthy, the canary is promoted in both.
func TestCanaryContextsAutoStepsEveryCluster(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.bookinfoInBoth(t, "mc-canary-auto")
	m.both(t, "applying reviews", func(c *meshCluster) error { c.apply(t, fmt.Sprintf(reviewsAllV1, ns)); return nil })
	east, west := newAmbientPrometheus(t), newAmbientPrometheus(t)
	east.requests.Store(versionRequests("200"))
	west.requests.Store(versionRequests("503"))
	args := []string{"mesh", "canary", "reviews", "-n", ns, "--auto", "--steps", "50,100", "--interval", "1s", "--min-requests", "1", "--max-error-rate", "10",
		"--contexts", "east,west", "--prometheus-url", "cluster-east=" + east.URL, "--prometheus-url", "west=" + west.URL}

	r := m.mesh(t, args...)
	t.Logf("--auto, west failing:\n%s", r)
	for _, want := range []string{
		"step 1/2: reviews: v1 50%, v2 50% (was v1 100%), in every cluster; holding 1s",
		"v2 over 1s: 20.00 req/s, errors 50.0%",
		"rolled back to v1, in every cluster",
	} {
		if r.code != 1 || !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q (exit %d)", want, r.code)
		}
	}
	for _, c := range []*meshCluster{m.East, m.West} {
		assertCanaryWeightsIn(t, c, ns, "reviews", "v1 100")
		assertNoCanaryRecordIn(t, c, ns, "reviews")
	}

	west.requests.Store(versionRequests("200"))
	r = m.mesh(t, args...)
	t.Logf("--auto, both healthy:\n%s", r)
	if r.code != 0 || !strings.Contains(r.stdout, "all 2 steps passed: reviews: v2 100% (was v1 0%, v2 100%); v2 promoted, now stable, in every cluster") {
		t.Errorf("want the canary promoted in both clusters:\n%s", r)
	}
	for _, c := range []*meshCluster{m.East, m.West} {
		assertCanaryWeightsIn(t, c, ns, "reviews", "v2 100")
		c.assertCanaryAnalyzeClean(t, ns)
	}
}
