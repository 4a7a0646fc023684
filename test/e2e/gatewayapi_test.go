//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Istio's traffic-shifting task, "Gateway API" tab: one Service per version, an HTTPRoute
// attached to reviews sending everything to reviews-v1 (route-reviews-v1.yaml).
const reviewsRouteV1 = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: %s}
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: reviews
    port: 9080
  rules:
  - backendRefs:
    - name: reviews-v1
      port: 9080
`

// gatewayAPIBookinfo loads bookinfo with version Services and no DestinationRules.
func gatewayAPIBookinfo(t *testing.T, ns, dataplane string) string {
	t.Helper()
	if err := fixture.LoadBookinfoVersions(t.Context(), ns, dataplane); err != nil {
		t.Fatalf("loading bookinfo's versions into %s: %v", ns, err)
	}
	return ns
}

// backendSplit reads rule #0 of an HTTPRoute as "reviews-v1:9080@90 reviews-v2:9080@10", as
// the API server stores it (it fills in weight 1 where a backendRef has none, as for Istio's
// sample files).
func backendSplit(t *testing.T, ns, name string) string {
	t.Helper()
	route := getObject(t, ns, "httproute", name)
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	if len(rules) == 0 {
		t.Fatalf("HTTPRoute %s/%s has no rules", ns, name)
	}
	var parts []string
	for _, b := range rules[0].(map[string]any)["backendRefs"].([]any) {
		ref := b.(map[string]any)
		weight := "-"
		if w, ok := ref["weight"]; ok {
			weight = fmt.Sprint(w)
		}
		parts = append(parts, fmt.Sprintf("%s:%v@%s", ref["name"], ref["port"], weight))
	}
	return strings.Join(parts, " ")
}

// Step by step, by both spellings, each split equal to Istio's sample files for the step.
func TestCanaryGatewayAPITutorial(t *testing.T) {
	t.Parallel()
	ns := gatewayAPIBookinfo(t, "gwapi-tutorial", "sidecar")
	apply(t, fmt.Sprintf(reviewsRouteV1, ns))
	baseline := analyze(t, ns)

	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns), "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 100%)")
	if got := backendSplit(t, ns, "reviews"); got != "reviews-v1:9080@90 reviews-v2:9080@10" { // route-reviews-90-10.yaml
		t.Errorf("after 10: %s", got)
	}
	assertOutput(t, plugin(t, cluster, "mesh-canary", "reviews", "--rollback", "-n", ns), "reviews: reviews-v1 100% (was reviews-v1 90%, reviews-v2 10%); rolled back to reviews-v1")
	if got := backendSplit(t, ns, "reviews"); got != "reviews-v1:9080@1" { // route-reviews-v1.yaml
		t.Errorf("after rollback: %s", got)
	}
	assertOutput(t, plugin(t, cluster, "mesh-canary", "reviews", "50", "--canary", "v3", "-n", ns), "reviews: reviews-v1 50%, reviews-v3 50% (was reviews-v1 100%)")
	if got := backendSplit(t, ns, "reviews"); got != "reviews-v1:9080@50 reviews-v3:9080@50" { // route-reviews-50-v3.yaml
		t.Errorf("after 50 to v3: %s", got)
	}
	status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
	for _, want := range []string{
		"reviews (namespace gwapi-tutorial): HTTPRoute reviews, rule #0\n",
		"canary in progress: reviews-v1 stable, reviews-v3 canary\n",
		"reviews-v3   canary   50%      1/1",
	} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "--promote", "-n", ns), "reviews: reviews-v3 100% (was reviews-v1 50%, reviews-v3 50%); reviews-v3 promoted, now stable")
	if got := backendSplit(t, ns, "reviews"); got != "reviews-v3:9080@1" { // route-reviews-v3.yaml
		t.Errorf("after promote: %s", got)
	}
	route := getObject(t, ns, "httproute", "reviews")
	if parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs"); fmt.Sprint(parents) != "[map[group: kind:Service name:reviews port:9080]]" {
		t.Errorf("parentRefs changed: %v", parents)
	}
	if _, open := route.GetAnnotations()["kubectl-mesh.dev/canary"]; open {
		t.Error("promote left the canary record on the HTTPRoute")
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// No route yet: version Services and no subsets make an HTTPRoute, attached to the Service.
func TestCanaryGatewayAPICreatesTheRoute(t *testing.T) {
	t.Parallel()
	ns := gatewayAPIBookinfo(t, "gwapi-create", "sidecar")
	baseline := analyze(t, ns)
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "20", "-n", ns), "reviews: reviews-v1 80%, reviews-v2 20% (was no HTTPRoute: spread over all pods)")
	route := getObject(t, ns, "httproute", "reviews")
	if route.GetLabels()["app.kubernetes.io/managed-by"] != "kubectl-mesh" || backendSplit(t, ns, "reviews") != "reviews-v1:9080@80 reviews-v2:9080@20" {
		t.Errorf("created HTTPRoute: labels %v, split %s", route.GetLabels(), backendSplit(t, ns, "reviews"))
	}
	if r := kubectl(t, "get", "virtualservices", "-n", ns, "-o", "name"); r.stdout != "" {
		t.Errorf("a VirtualService was created too: %s", r.stdout)
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// What Istio calls undefined, and what Envoy cannot serve, is refused with nothing written.
func TestCanaryGatewayAPIRefusals(t *testing.T) {
	t.Parallel()
	ns := gatewayAPIBookinfo(t, "gwapi-refusals", "sidecar")
	apply(t, fmt.Sprintf(reviewsRouteV1, ns)+fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: reviews-v4, namespace: %[1]s}
spec:
  selector: {app: reviews, version: v4}
  ports: [{name: http, port: 9080}]
`, ns))
	before := getObject(t, ns, "httproute", "reviews")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"reviews", "10", "--canary", "v4"}, `reviews: Service "reviews-v4" has no ready endpoint (0 endpoints, 0 ready; 503 UH in Envoy); deploy reviews-v4 first or pass --force`},
		{[]string{"reviews", "10", "--canary", "reviews-v9"}, `reviews: no version Service "reviews-v9" in namespace gwapi-refusals`},
		{[]string{"reviews", "10", "--api", "virtualservice"}, "HTTPRoute reviews already routes it; --api virtualservice would add a second route"},
	} {
		for _, spelling := range [][]string{{"mesh", "canary"}, {"mesh-canary"}} {
			r := plugin(t, cluster, append(append(spelling, tt.args...), "-n", ns)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("%v: want exit 1 and %q, got:\n%s", tt.args, tt.want, r)
			}
			assertNoStackTrace(t, r)
		}
	}
	if after := getObject(t, ns, "httproute", "reviews"); after.GetResourceVersion() != before.GetResourceVersion() {
		t.Error("a refused canary changed the HTTPRoute")
	}

	// A VirtualService for reviews beside the HTTPRoute: undefined in Istio, refused.
	apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: %s}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
`, ns))
	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns)
	if want := "several routes in namespace gwapi-refusals carry its mesh traffic (VirtualService reviews, HTTPRoute reviews)"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("mixed routes: want %q, got:\n%s", want, r)
	}
	if after := getObject(t, ns, "httproute", "reviews"); after.GetResourceVersion() != before.GetResourceVersion() {
		t.Error("a refused canary changed the HTTPRoute")
	}
}

// In ambient mode a split needs a waypoint: refused without one, served with one.
func TestCanaryAmbientNeedsAWaypoint(t *testing.T) {
	t.Parallel()
	ns := gatewayAPIBookinfo(t, "gwapi-ambient", "ambient")
	apply(t, fmt.Sprintf(reviewsRouteV1, ns))
	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns)
	if want := "namespace gwapi-ambient is in ambient mode and Service reviews uses no waypoint"; r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "istioctl waypoint apply -n gwapi-ambient --enroll-namespace") {
		t.Errorf("without a waypoint: want %q, got:\n%s", want, r)
	}
	if got := backendSplit(t, ns, "reviews"); got != "reviews-v1:9080@1" {
		t.Errorf("a refused canary wrote %s", got)
	}
	if err := fixture.LoadGatewayAPIGateway(t.Context(), ns, "waypoint", "istio-waypoint"); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, kubectl(t, "label", "namespace", ns, "istio.io/use-waypoint=waypoint"))
	baseline := analyze(t, ns)
	r = mustSucceed(t, plugin(t, cluster, "mesh-canary", "reviews", "10", "-n", ns))
	if r.stdout != "reviews: reviews-v1 90%, reviews-v2 10% (was reviews-v1 100%)\n" || !strings.Contains(r.stderr, "waypoint gwapi-ambient/waypoint is not Programmed") {
		t.Errorf("with a waypoint (no controller to program it):\n%s", r)
	}
	status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
	if !strings.Contains(status.stdout, "ambient: through waypoint gwapi-ambient/waypoint") {
		t.Errorf("status:\n%s", status.stdout)
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
}
