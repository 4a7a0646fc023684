//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// ambientBookinfo is bookinfo as Istio's ambient getting-started deploys it: the namespace in
// ambient mode, no sidecars, a Service per version, a waypoint for reviews, and a Gateway API
// gateway (class istio) routing to productpage.
func ambientBookinfo(t *testing.T, ns string) string {
	t.Helper()
	ctx := t.Context()
	steps := []func() error{
		func() error { return fixture.LoadBookinfoVersions(ctx, ns, "ambient") },
		func() error { return fixture.LoadGatewayAPIGateway(ctx, ns, "waypoint", "istio-waypoint") },
		func() error {
			return fixture.LabelService(ctx, ns, "reviews", map[string]string{"istio.io/use-waypoint": "waypoint"})
		},
		func() error { return fixture.LoadGatewayAPIGateway(ctx, ns, "bookinfo-gateway", "istio") },
		func() error {
			return fixture.LoadRoute(ctx, ns, "bookinfo", "Gateway", "bookinfo-gateway", "productpage", 9080)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("loading ambient bookinfo into %s: %v", ns, err)
		}
	}
	return ns
}

// Lockdown where ztunnel and the waypoint enforce: ambient pods are in the mesh; reviews'
// workloads allow the waypoint, the waypoint allows the callers of Service reviews; the
// Gateway API gateway keeps its identity allowed on productpage. Undo leaves nothing.
func TestLockdownAmbient(t *testing.T) {
	t.Parallel()
	ns := ambientBookinfo(t, "ambient-lockdown")
	baseline := analyze(t, ns)

	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", "ns/"+ns))
	for _, want := range []string{
		"productpage-v1 <- " + ns + "/bookinfo-gateway-istio (gateway " + ns + "/bookinfo-gateway, routed by HTTPRoute " + ns + "/bookinfo), namespace " + ns + " (--allow-from)",
		"reviews-v1 <- " + ns + "/waypoint (waypoint " + ns + "/waypoint), namespace " + ns + " (--allow-from)",
		"Service reviews, at waypoint " + ns + "/waypoint <- namespace " + ns + " (--allow-from)",
		"bookinfo-gateway <- anyone (gateway)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lockdown output lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, "\n  waypoint <- ") || strings.Contains(r.stdout, "denied every caller: waypoint") || strings.Contains(r.stderr, "cannot serve STRICT") {
		t.Errorf("the waypoint is not a workload to lock, and ambient pods are in the mesh:\n%s", r)
	}
	atWaypoint := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-waypoint-allow-reviews")
	refs, _, _ := unstructured.NestedSlice(atWaypoint.Object, "spec", "targetRefs")
	if fmt.Sprint(refs) != "[map[group: kind:Service name:reviews]]" {
		t.Errorf("the waypoint's policy targets %v, want Service reviews", refs)
	}
	reviews := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-reviews-v1")
	if rules := fmt.Sprint(reviews.Object["spec"]); !strings.Contains(rules, "cluster.local/ns/"+ns+"/sa/waypoint") {
		t.Errorf("reviews-v1's policy (enforced by ztunnel) does not allow the waypoint: %s", rules)
	}
	status := mustSucceed(t, plugin(t, cluster, "mesh-lockdown", ns, "--status"))
	for workload, want := range map[string]string{
		"reviews-v2":     "1 ambient + waypoint " + ns + "/waypoint STRICT allow from cluster.local/ns/" + ns + "/sa/waypoint, namespace " + ns,
		"details-v1":     "1 ambient STRICT allow from namespace " + ns,
		"productpage-v1": "1 ambient STRICT allow from cluster.local/ns/" + ns + "/sa/bookinfo-gateway-istio, namespace " + ns,
	} {
		if got := statusRow(status.stdout, workload); got != want {
			t.Errorf("status of %s: %q, want %q\n%s", workload, got, want, status.stdout)
		}
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)

	r = mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", "ns/"+ns))
	if !strings.HasPrefix(r.stdout, "namespace "+ns+": already locked down, nothing to change\n") {
		t.Errorf("second lockdown:\n%s", r)
	}
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if got := policies(t, ns); got != "" {
		t.Errorf("undo left %s", got)
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// In an ambient namespace, only a pod that is outside the mesh stops the lockdown.
func TestLockdownAmbientPreflight(t *testing.T) {
	t.Parallel()
	ns := ambientBookinfo(t, "ambient-preflight")
	if err := fixture.LoadApp(t.Context(), ns, testcluster.Workload{App: "batch", ServiceAccount: "batch", Replicas: 1, Ready: 1, NoSidecar: true, Labels: map[string]string{"istio.io/dataplane-mode": "none"}}); err != nil {
		t.Fatal(err)
	}
	r := plugin(t, cluster, "mesh", "lockdown", ns)
	if want := "1 pods in namespace ambient-preflight have no istio-proxy sidecar and are not in ambient mode, so they cannot serve STRICT mTLS: batch-0"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("want the opted-out pod named, got:\n%s", r)
	}
	if got := policies(t, ns); got != "" {
		t.Errorf("a stopped lockdown wrote %s", got)
	}
}
