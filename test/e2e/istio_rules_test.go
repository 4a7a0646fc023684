//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// The cases where Istio's reading of its own rules is easy to get wrong, each on the real API
// server and judged by istioctl analyze: no plan may add an error it reports.

// A DestinationRule or VirtualService host with a dot is taken literally: reviews.NS names no
// service, so its subsets and routes count for nothing.
func TestCanaryReadsHostsAsIstioDoes(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "rules-hosts")
	mustSucceed(t, kubectl(t, "delete", "destinationrule", "reviews", "-n", ns))
	apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: %[1]s}
spec:
  host: reviews.%[1]s
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`, ns))
	baseline := analyze(t, ns)
	for _, spelling := range [][]string{{"mesh", "canary"}, {"mesh-canary"}} {
		r := plugin(t, cluster, append(spelling, "reviews", "10", "-n", ns)...)
		want := fmt.Sprintf(`DestinationRule reviews has host "reviews.%s": Istio expands only short names`, ns)
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("%v: want a refusal saying %q, got:\n%s", spelling, want, r)
		}
		assertNoStackTrace(t, r)
	}
	if r := kubectl(t, "get", "virtualservices", "-n", ns, "-o", "name"); r.stdout != "" {
		t.Errorf("a refused canary wrote %s", r.stdout)
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)

	// A VirtualService whose host almost names reviews: a second one beside it is refused.
	vsNamespace := bookinfoNamespace(t, "rules-vs-host")
	apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-routing, namespace: %[1]s}
spec:
  hosts: [reviews.%[1]s.svc]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
`, vsNamespace))
	baseline = analyze(t, vsNamespace)
	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", vsNamespace)
	if want := fmt.Sprintf(`no VirtualService routes it, but VirtualService reviews-routing has host "reviews.%s.svc"`, vsNamespace); r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("want a refusal saying %q, got:\n%s", want, r)
	}
	if got := kubectl(t, "get", "virtualservices", "-n", vsNamespace, "-o", "name").stdout; got != "virtualservice.networking.istio.io/reviews-routing\n" {
		t.Errorf("VirtualServices after the refusal: %q", got)
	}
	assertNoNewAnalyzeErrors(t, vsNamespace, baseline)
}

// Istio merges the DestinationRules of one host: a subset from the second is usable.
func TestCanaryMergesDestinationRules(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "rules-merged")
	apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: %[1]s}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-v3, namespace: %[1]s}
spec:
  host: reviews.%[1]s.svc.cluster.local
  subsets:
  - {name: v3, labels: {version: v3}}
`, ns)+"---\n"+fmt.Sprintf(reviewsAllV1, ns))
	baseline := analyze(t, ns)
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "20", "--canary", "v3", "-n", ns), "reviews: v1 80%, v3 20% (was v1 100%)")
	assertWeights(t, ns, "reviews", "v1 80, v3 20")
	status := mustSucceed(t, plugin(t, cluster, "mesh-canary", "reviews", "-n", ns))
	for _, want := range []string{"subsets from DestinationRules reviews, reviews-v3 (merged", "v3       canary   20%      1/1"} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// Weights are relative: v1 3, v2 1 is 75% and 25%, and a step writes percentages.
func TestCanaryReadsRelativeWeights(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "rules-weights")
	apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: %s}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 3
    - destination: {host: reviews, subset: v2}
      weight: 1
`, ns))
	baseline := analyze(t, ns)
	status := mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "-n", ns))
	for _, want := range []string{"v1       stable   75%", "v2       canary   25%"} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}
	assertOutput(t, plugin(t, cluster, "mesh", "canary", "reviews", "30", "-n", ns), "reviews: v1 70%, v2 30% (was v1 75%, v2 25%)")
	assertWeights(t, ns, "reviews", "v1 70, v2 30")
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// A gateway-bound VirtualService that delegates: the gateway stays allowed on the delegate's
// destinations.
func TestLockdownFollowsDelegates(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "rules-delegate")
	mustSucceed(t, kubectl(t, "delete", "virtualservice", "bookinfo", "-n", ns))
	apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: %[1]s}
spec:
  hosts: [%[2]s]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {prefix: /productpage}}]
    delegate: {name: productpage-routes}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage-routes, namespace: %[1]s}
spec:
  http:
  - match: [{uri: {prefix: /productpage}}]
    route:
    - destination: {host: productpage, port: {number: 9080}}
`, ns, testcluster.BookinfoHost(ns)))
	baseline := analyze(t, ns)
	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns))
	if want := "productpage-v1 <- istio-system/istio-ingressgateway-service-account (ingress gateway " + ns + "/bookinfo-gateway, routed by VirtualService " + ns + "/bookinfo)"; !strings.Contains(r.stdout, want) {
		t.Errorf("the ingress gateway is not kept allowed through the delegate:\n%s", r)
	}
	rules := fmt.Sprint(getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-productpage-v1").Object["spec"])
	if !strings.Contains(rules, testcluster.IngressPrincipal) {
		t.Errorf("kubectl-mesh-allow-productpage-v1: %s", rules)
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// Pods of one app with different labels are decided apart: the gateway reaches only the green
// pods (through Service web-green), so only they keep its identity allowed.
func TestLockdownDecidesPerPod(t *testing.T) {
	t.Parallel()
	ns := "rules-tracks"
	if err := fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := fixture.LoadApp(t.Context(), ns,
		testcluster.Workload{App: "web", Name: "web-green", Labels: map[string]string{"track": "green"}, ServiceAccount: "web", Replicas: 2, Ready: 2},
		testcluster.Workload{App: "web", Name: "web-blue", Labels: map[string]string{"track": "blue"}, ServiceAccount: "web", Replicas: 1, Ready: 1},
	); err != nil {
		t.Fatal(err)
	}
	host := ns + ".example.com"
	apply(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: web-green, namespace: %[1]s}
spec:
  selector: {app: web, track: green}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web-gateway, namespace: %[1]s}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [%[2]s]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: %[1]s}
spec:
  hosts: [%[2]s]
  gateways: [web-gateway]
  http:
  - route:
    - destination: {host: web-green, port: {number: 9080}}
`, ns, host))
	baseline := analyze(t, ns)
	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns))
	for _, want := range []string{
		"web-green <- istio-system/istio-ingressgateway-service-account (ingress gateway " + ns + "/web-gateway, routed by VirtualService " + ns + "/web)",
		"denied every caller: web-blue",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lockdown output lacks %q:\n%s", want, r)
		}
	}
	green := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-web-green")
	if selector, _, _ := unstructured.NestedStringMap(green.Object, "spec", "selector", "matchLabels"); fmt.Sprint(selector) != "map[app:web track:green]" {
		t.Errorf("kubectl-mesh-allow-web-green selects %v, want exactly the green pods", selector)
	}
	status := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--status"))
	for workload, want := range map[string]string{
		"web-blue":  "1 sidecar STRICT deny all (no ALLOW rule matches)",
		"web-green": "2 sidecar STRICT allow from " + testcluster.IngressPrincipal,
	} {
		if got := statusRow(status.stdout, workload); got != want {
			t.Errorf("status of %s: %q, want %q\n%s", workload, got, want, status.stdout)
		}
	}
	// IST0127 would report a policy selector that matches no pod.
	assertNoNewAnalyzeErrors(t, ns, baseline)
}

// A Gateway API gateway (class istio) in the namespace is a gateway: it keeps every caller,
// and the HTTPRoute attached to it keeps its identity allowed on productpage.
func TestLockdownGatewayAPIGateway(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "rules-gateway-api")
	if err := fixture.LoadGatewayAPIGateway(t.Context(), ns, "bookinfo-gateway", "istio"); err != nil {
		t.Fatal(err)
	}
	apply(t, fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bookinfo, namespace: %s}
spec:
  parentRefs: [{name: bookinfo-gateway}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /productpage}}]
    backendRefs: [{name: productpage, port: 9080}]
`, ns))
	baseline := analyze(t, ns)
	principal := "cluster.local/ns/" + ns + "/sa/bookinfo-gateway-istio"
	r := mustSucceed(t, plugin(t, cluster, "mesh-lockdown", ns))
	for _, want := range []string{
		"bookinfo-gateway <- anyone (gateway)",
		"productpage-v1 <- " + ns + "/bookinfo-gateway-istio (gateway " + ns + "/bookinfo-gateway, routed by HTTPRoute " + ns + "/bookinfo)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lockdown output lacks %q:\n%s", want, r)
		}
	}
	if rules := fmt.Sprint(getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-productpage-v1").Object["spec"]); !strings.Contains(rules, principal) {
		t.Errorf("productpage's policy does not allow %s: %s", principal, rules)
	}
	gateway := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-bookinfo-gateway")
	if selector, _, _ := unstructured.NestedStringMap(gateway.Object, "spec", "selector", "matchLabels"); selector["gateway.networking.k8s.io/gateway-name"] != "bookinfo-gateway" {
		t.Errorf("the gateway's policy selects %v", selector)
	}
	assertNoNewAnalyzeErrors(t, ns, baseline)
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if got := policies(t, ns); got != "" {
		t.Errorf("undo left %s", got)
	}
}

// Existing ALLOW policies that admit everyone, or a whole namespace, keep doing so after
// lockdown: the plan and the status name them.
func TestLockdownNamesOpenPolicies(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "rules-open")
	apply(t, fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: details-open, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: details}}
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-from-default, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: ratings}}
  rules: [{from: [{source: {namespaces: [default]}}]}]
`, ns))
	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns))
	for _, want := range []string{
		"deny by default (but for the existing policies below)",
		"authorizationpolicy/details-open admits every request to details-v1",
		"authorizationpolicy/ratings-from-default admits every workload of namespace default to ratings-v1",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lockdown output lacks %q:\n%s", want, r)
		}
	}
	status := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--status"))
	if want := "but existing ALLOW policies still admit callers wholesale:\n    authorizationpolicy/details-open admits every request to details-v1\n"; !strings.Contains(status.stdout, want) {
		t.Errorf("status lacks %q:\n%s", want, status.stdout)
	}
	assertAnalyzeClean(t, ns)
}

// The root namespace is the mesh config's: lockdown refuses it, and --status applies its
// AuthorizationPolicies mesh-wide. Not parallel: the mesh config is the whole cluster's.
func TestLockdownReadsTheMeshConfig(t *testing.T) {
	ns := bookinfoNamespace(t, "rules-root")
	if err := fixture.EnsureNamespace(t.Context(), "mesh-root", nil); err != nil {
		t.Fatal(err)
	}
	apply(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    rootNamespace: mesh-root
    trustDomain: cluster.local
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: mesh-root}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-debug, namespace: mesh-root}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: [/debug]}}]}]
`)
	t.Cleanup(func() {
		kubectl(t, "delete", "configmap", "istio", "-n", "istio-system")
		kubectl(t, "delete", "authorizationpolicies.security.istio.io", "--all", "-n", "mesh-root")
	})
	r := plugin(t, cluster, "mesh", "lockdown", "mesh-root")
	if r.code != 1 || !strings.Contains(r.stderr, "namespace mesh-root is Istio's root namespace") {
		t.Errorf("lockdown of the mesh config's root namespace:\n%s", r)
	}
	r = plugin(t, cluster, "mesh", "lockdown", "istio-system", "--dry-run")
	if r.code != 0 || strings.Contains(r.stderr, "root namespace") {
		t.Errorf("istio-system is not the root namespace when the mesh config names mesh-root:\n%s", r)
	}
	status := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--status"))
	for _, want := range []string{
		"mesh policy:    DENY rules (authorizationpolicy mesh-root/deny-debug)",
		"mesh policy:    ALLOW nothing",
		"DENY rules in mesh-root/deny-debug; deny all (no ALLOW rule matches)",
	} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}
}

// statusRow is the rest of the --status table row of workload, its columns joined by one space.
func statusRow(table, workload string) string {
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == workload {
			return strings.Join(fields[1:], " ")
		}
	}
	return ""
}
