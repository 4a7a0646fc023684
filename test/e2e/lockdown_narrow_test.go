//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// clusterPolicies reads every AuthorizationPolicy of the cluster with the real kubectl, as
// Istio's typed objects: the simulator's reading of Istio's authorization (which shares no
// code with the plugins) judges lockdown's result.
func clusterPolicies(t *testing.T) []*securityv1.AuthorizationPolicy {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", "authorizationpolicies.security.istio.io", "-A", "-o", "json"))
	var list securityv1.AuthorizationPolicyList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("reading AuthorizationPolicies: %v", err)
	}
	out := make([]*securityv1.AuthorizationPolicy, len(list.Items))
	for i := range list.Items {
		out[i] = list.Items[i]
	}
	return out
}

// meshWorkloads are the namespace's pods that a sidecar or ztunnel enforces policy for.
func meshWorkloads(t *testing.T, ns string) []*sim.Workload {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", "pods", "-n", ns, "-o", "json"))
	var pods corev1.PodList
	if err := json.Unmarshal([]byte(r.stdout), &pods); err != nil {
		t.Fatal(err)
	}
	var out []*sim.Workload
	for i := range pods.Items {
		p := &pods.Items[i]
		w := &sim.Workload{Namespace: ns, Name: p.Name, Labels: p.Labels, ServiceAccount: p.Spec.ServiceAccountName}
		for _, c := range p.Spec.Containers {
			w.Sidecar = w.Sidecar || c.Name == "istio-proxy"
		}
		if w.Sidecar {
			out = append(out, w)
		}
	}
	return out
}

// callGrid is who calls with what: principals of the namespace, of neighbours and strangers,
// plaintext, over the paths and methods the narrow policies care about.
func callGrid(ns string, principals ...string) []sim.Call {
	principals = append(principals, "", testcluster.IngressPrincipal, "cluster.local/ns/"+ns+"/sa/bookinfo-productpage",
		"cluster.local/ns/stranger/sa/stranger", "cluster.local/ns/"+ns+"-monitoring/sa/prometheus")
	var calls []sim.Call
	for _, p := range principals {
		namespace := ""
		if parts := strings.Split(p, "/"); len(parts) == 5 {
			namespace = parts[2]
		}
		for _, method := range []string{"GET", "POST"} {
			for _, path := range []string{"/public/a", "/admin", "/productpage"} {
				calls = append(calls, sim.Call{Principal: p, Namespace: namespace, Method: method, Path: path, Port: 9080})
			}
		}
	}
	return calls
}

// assertNarrowed: no call the simulator allows after was denied before, at any workload.
func assertNarrowed(t *testing.T, workloads []*sim.Workload, before, after []*securityv1.AuthorizationPolicy, calls []sim.Call) {
	t.Helper()
	for _, w := range workloads {
		for _, c := range calls {
			if sim.Authorize(after, w, c) && !sim.Authorize(before, w, c) {
				t.Errorf("lockdown widened access: %s %s %s to %s is allowed now, denied before", c.Principal, c.Method, c.Path, w.Name)
			}
		}
	}
}

// A namespace that already has narrow policies, and neighbours whose objects point into it:
// lockdown keeps what decides, writes nothing that lets more through, and says why.
func TestLockdownNeverWidensAccess(t *testing.T) {
	t.Parallel()
	ns, tenant := exposedBookinfo(t, "narrow"), "narrow-tenant"
	ctx := t.Context()
	for _, n := range []string{tenant, ns + "-monitoring"} {
		if err := fixture.EnsureNamespace(ctx, n, map[string]string{"istio-injection": "enabled"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fixture.LoadApp(ctx, tenant, testcluster.Workload{App: "tenant-app", Version: "v1", ServiceAccount: "tenant-app", Replicas: 1, Ready: 1}); err != nil {
		t.Fatal(err)
	}
	if err := fixture.LoadApp(ctx, ns, testcluster.Workload{App: "ghost", Version: "v1", ServiceAccount: "ghost", Replicas: 1, Ready: 1, Labels: map[string]string{"gateway.networking.k8s.io/gateway-name": "ghost"}}); err != nil {
		t.Fatal(err)
	}
	if err := fixture.LoadGatewayAPIGateway(ctx, tenant, "tenant-edge", "istio"); err != nil {
		t.Fatal(err)
	}
	apply(t, fmt.Sprintf(narrowFixture, ns, tenant))
	before := clusterPolicies(t)
	baseline := analyze(t, ns)

	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", "ns/"+ns+"-monitoring"))
	out := r.stdout + r.stderr
	for _, want := range []string{
		"reviews-v1 <- unchanged: its own ALLOW policies decide, as before (" + ns + "/reviews-public)",
		"reviews-v1 <- namespace " + ns + "-monitoring (--allow-from): " + ns + "/reviews-public already decides who may call it and denies it today",
		"gateway " + tenant + "/sneaky names workload ghost-v1, whose pods do not run as gateways",
		"gateway " + tenant + "/tenant-gw selects pods that do not run as gateways (" + tenant + "/tenant-app-v1-",
		"HTTPRoute " + tenant + "/into-ratings sends to Service " + ns + "/ratings with no ReferenceGrant in " + ns,
		"productpage-v1 <- istio-system/istio-ingressgateway-service-account (ingress gateway " + ns + "/bookinfo-gateway, routed by VirtualService " + ns + "/bookinfo)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lockdown does not say %q:\n%s", want, r)
		}
	}
	if got := kubectl(t, "get", "authorizationpolicy.security.istio.io", "kubectl-mesh-allow-reviews-v1", "-n", ns); got.code == 0 {
		t.Errorf("lockdown wrote an ALLOW policy beside reviews-public")
	}
	after := clusterPolicies(t)
	for _, ap := range after {
		for _, rule := range ap.Spec.GetRules() {
			if ap.Namespace == ns && len(rule.GetFrom()) == 0 && len(rule.GetTo()) == 0 && len(rule.GetWhen()) == 0 {
				t.Errorf("%s admits every request: no workload of %s runs as a gateway", ap.Name, ns)
			}
		}
	}
	calls := callGrid(ns, "cluster.local/ns/"+tenant+"/sa/tenant-app", "cluster.local/ns/"+tenant+"/sa/tenant-edge-istio")
	assertNarrowed(t, meshWorkloads(t, ns), before, after, calls)
	// Strangers are denied where nothing decided before.
	stranger := sim.Call{Principal: "cluster.local/ns/stranger/sa/stranger", Namespace: "stranger", Method: "GET", Path: "/", Port: 9080}
	for _, w := range meshWorkloads(t, ns) {
		if sim.Authorize(after, w, stranger) {
			t.Errorf("a stranger still reaches %s after lockdown", w.Name)
		}
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)

	// With a ReferenceGrant, Istio routes the tenant's HTTPRoute: its gateway is kept, named.
	apply(t, fmt.Sprintf(narrowGrant, ns, tenant))
	r = mustSucceed(t, plugin(t, cluster, "mesh-lockdown", ns, "--allow-from", "ns/"+ns+"-monitoring"))
	if want := tenant + "/tenant-edge-istio (gateway " + tenant + "/tenant-edge, routed by HTTPRoute " + tenant + "/into-ratings)"; !strings.Contains(statusLine(r.stdout, "ratings-v1 <- "), want) {
		t.Errorf("lockdown does not keep the granted route's gateway %q:\n%s", want, r)
	}

	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if got := policies(t, ns); got != "authorizationpolicy.security.istio.io/reviews-public" {
		t.Errorf("after undo: %q, want the user's reviews-public alone", got)
	}
}

// statusLine is the line of a lockdown summary that starts with prefix (after indentation).
func statusLine(summary, prefix string) string {
	for _, line := range strings.Split(summary, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			return line
		}
	}
	return ""
}

// narrowFixture (namespace, tenant): reviews admits productpage for GET /public/* only; the
// tenant's Istio Gateway selects ghost (an app labelled as a Gateway's pod that does not exist), another selects the
// tenant's sidecar pods and routes into ratings; an HTTPRoute of the tenant sends to ratings
// with no ReferenceGrant.
const narrowFixture = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-public, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-productpage]}}]
    to: [{operation: {methods: [GET], paths: [/public/*]}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: sneaky, namespace: %[2]s}
spec:
  selector: {app: ghost}
  servers: [{port: {number: 8081, name: http, protocol: HTTP}, hosts: ["sneaky.example.com"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tenant-gw, namespace: %[2]s}
spec:
  selector: {app: tenant-app}
  servers: [{port: {number: 8082, name: http, protocol: HTTP}, hosts: ["tenant.example.com"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: into-ratings, namespace: %[2]s}
spec:
  hosts: ["tenant.example.com"]
  gateways: [tenant-gw]
  http: [{route: [{destination: {host: ratings.%[1]s.svc.cluster.local, port: {number: 9080}}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: into-ratings, namespace: %[2]s}
spec:
  parentRefs: [{name: tenant-edge}]
  rules: [{backendRefs: [{name: ratings, namespace: %[1]s, port: 9080}]}]
`

const narrowGrant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-tenant, namespace: %[1]s}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: %[2]s}]
  to: [{group: "", kind: Service, name: ratings}]
`

// Behind a waypoint, when the only caller to keep is the waypoint itself (what a TCP Service's
// ztunnel reports), the waypoint's policy admits no one: an empty caller list never becomes
// `rules: [{}]`. The simulator judges the waypoint and ztunnel as Istio would.
func TestLockdownWaypointWithoutCallersAdmitsNoOne(t *testing.T) {
	t.Parallel()
	ns := ambientBookinfo(t, "narrow-ambient")
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", ns+"/waypoint"))
	ap := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-waypoint-allow-reviews")
	spec, _ := ap.Object["spec"].(map[string]any)
	if rules, found := spec["rules"]; found {
		t.Errorf("the waypoint policy has rules %v: it must admit no one", rules)
	}
	after := clusterPolicies(t)
	waypoint := &sim.Workload{Namespace: ns, Name: "waypoint", Waypoint: true, ServiceAccount: "waypoint", Labels: map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"}}
	svc := &corev1.Service{}
	svc.Name, svc.Namespace = "reviews", ns
	for _, principal := range []string{"cluster.local/ns/" + ns + "/sa/bookinfo-productpage", "cluster.local/ns/stranger/sa/stranger"} {
		call := sim.Call{Principal: principal, Namespace: strings.Split(principal, "/")[2], Method: "GET", Path: "/reviews/0", Port: 9080}
		if sim.AuthorizeAtWaypoint(after, svc, waypoint, call) {
			t.Errorf("the waypoint admits %s to Service reviews", principal)
		}
	}
}
