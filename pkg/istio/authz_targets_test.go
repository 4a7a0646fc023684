package istio

import (
	"fmt"
	"testing"
)

// Where a policy applies: selector, namespace-wide and root-namespace policies at the pod's
// own proxy (sidecar, gateway pod, ztunnel); targetRefs at gateways and waypoints only.

var (
	ratingsSidecar  = Point{At: AtSidecar, Namespace: "shop", Labels: map[string]string{"app": "ratings"}}
	tenantSidecar   = Point{At: AtSidecar, Namespace: "tenant", Labels: map[string]string{"app": "reviews"}}
	reviewsZtunnel  = Point{At: AtZtunnel, Namespace: "shop", Labels: map[string]string{"app": "reviews"}}
	edgeGateway     = Point{At: AtGateway, Namespace: "shop", Labels: map[string]string{"gateway.networking.k8s.io/gateway-name": "edge"}, Gateway: "shop/edge"}
	reviewsWaypoint = Point{At: AtWaypoint, Namespace: "shop", Gateway: "shop/waypoint", Service: "shop/reviews"}
	ratingsWaypoint = Point{At: AtWaypoint, Namespace: "shop", Gateway: "shop/waypoint", Service: "shop/ratings"}
)

// denyAllIn is a policy that denies every request where it applies: namespace, then the
// rest of its spec (YAML flow, without braces).
func denyAllIn(namespace, targeting string) string {
	if targeting != "" {
		targeting += ", "
	}
	return fmt.Sprintf("metadata: {name: deny-all, namespace: %s}\nspec: {%saction: DENY, rules: [{}]}", namespace, targeting)
}

const (
	selectReviews  = "selector: {matchLabels: {app: reviews}}"
	targetEdge     = "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]"
	targetWaypoint = "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]"
	targetReviews  = `targetRefs: [{group: "", kind: Service, name: reviews}]`
	targetClass    = "targetRefs: [{group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}]"
)

// applies is a case where a deny-all policy applies (want No) or not (want Yes).
func applies(name, policy string, at Point, does bool) decideCase {
	want := Yes
	if does {
		want = No
	}
	return decideCase{name: name, policies: policy, point: at, req: Request{Principal: productpage}, want: want}
}

var selectorCases = []decideCase{
	applies("selector picks the pod", denyAllIn("shop", selectReviews), reviewsSidecar, true),
	applies("selector picks another pod", denyAllIn("shop", selectReviews), ratingsSidecar, false),
	applies("no selector: every pod of the namespace", denyAllIn("shop", ""), ratingsSidecar, true),
	applies("an empty selector: every pod of the namespace", denyAllIn("shop", "selector: {}"), ratingsSidecar, true),
	applies("root namespace, no selector: every pod of the mesh", denyAllIn(testRoot, ""), tenantSidecar, true),
	applies("root namespace selector: matching pods of every namespace", denyAllIn(testRoot, selectReviews), tenantSidecar, true),
	applies("root namespace selector: not the others", denyAllIn(testRoot, selectReviews), ratingsSidecar, false),
	applies("a policy of another namespace never applies", denyAllIn("tenant", ""), reviewsSidecar, false),
	applies("a policy of another namespace never applies, selector or not", denyAllIn("tenant", selectReviews), reviewsSidecar, false),
	applies("selector policies apply at ztunnel", denyAllIn("shop", selectReviews), reviewsZtunnel, true),
	applies("namespace-wide policies apply at ztunnel", denyAllIn("shop", ""), reviewsZtunnel, true),
	applies("root namespace policies apply at ztunnel", denyAllIn(testRoot, ""), reviewsZtunnel, true),
	applies("selector policies apply at gateway pods", denyAllIn("shop", "selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: edge}}"), edgeGateway, true),
	applies("namespace-wide policies apply at gateway pods", denyAllIn("shop", ""), edgeGateway, true),
	applies("selector policies never apply at waypoints", denyAllIn("shop", selectReviews), reviewsWaypoint, false),
	applies("namespace-wide policies never apply at waypoints", denyAllIn("shop", ""), reviewsWaypoint, false),
	applies("root namespace policies never apply at waypoints", denyAllIn(testRoot, ""), reviewsWaypoint, false),
}

var targetRefCases = []decideCase{
	applies("Gateway at its gateway pods", denyAllIn("shop", targetEdge), edgeGateway, true),
	applies("Gateway at another Gateway's pods", denyAllIn("shop", targetEdge), Point{At: AtGateway, Namespace: "shop", Gateway: "shop/other"}, false),
	applies("Gateway of the same name in another namespace", denyAllIn("tenant", targetEdge), edgeGateway, false),
	applies("Gateway at a gateway that is no Gateway API Gateway", denyAllIn("shop", targetEdge), Point{At: AtGateway, Namespace: "shop"}, false),
	applies("Gateway at its waypoint", denyAllIn("shop", targetWaypoint), reviewsWaypoint, true),
	applies("Gateway at its waypoint, for every Service", denyAllIn("shop", targetWaypoint), ratingsWaypoint, true),
	applies("Gateway naming another waypoint", denyAllIn("shop", targetEdge), reviewsWaypoint, false),
	applies("legacy targetRef", denyAllIn("shop", "targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}"), edgeGateway, true),
	applies("targetRefs win over targetRef", denyAllIn("shop", "targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}, "+targetWaypoint), edgeGateway, false),
	applies("an Istio Gateway is no Gateway API Gateway", denyAllIn("shop", "targetRefs: [{group: networking.istio.io, kind: Gateway, name: edge}]"), edgeGateway, false),
	applies("a reference to another namespace never matches", denyAllIn("shop", "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: tenant}]"), edgeGateway, false),
	applies("Service at the waypoint carrying it", denyAllIn("shop", targetReviews), reviewsWaypoint, true),
	applies("Service (group core) at the waypoint carrying it", denyAllIn("shop", "targetRefs: [{group: core, kind: Service, name: reviews}]"), reviewsWaypoint, true),
	applies("Service at a waypoint carrying another Service", denyAllIn("shop", targetReviews), ratingsWaypoint, false),
	applies("Service of another namespace", denyAllIn("tenant", targetReviews), reviewsWaypoint, false),
	applies("Service is not for gateway pods", denyAllIn("shop", targetReviews), edgeGateway, false),
	applies("one of several targetRefs", denyAllIn("shop", `targetRefs: [{group: "", kind: Service, name: ratings}, {group: "", kind: Service, name: reviews}]`), reviewsWaypoint, true),
	applies("targetRefs never apply at sidecars", denyAllIn("shop", targetReviews), reviewsSidecar, false),
	applies("targetRefs never apply at ztunnel", denyAllIn("shop", targetReviews), reviewsZtunnel, false),
	applies("targetRefs Gateway never applies at sidecars", denyAllIn("shop", targetEdge), reviewsSidecar, false),
	applies("GatewayClass istio-waypoint from the root namespace: every waypoint", denyAllIn(testRoot, targetClass), reviewsWaypoint, true),
	applies("GatewayClass from another namespace", denyAllIn("shop", targetClass), reviewsWaypoint, false),
	applies("GatewayClass istio-waypoint is not for gateway pods", denyAllIn(testRoot, targetClass), edgeGateway, false),
	applies("a dry-run targetRefs policy", "metadata: {name: trial, namespace: shop, annotations: {istio.io/dry-run: \"true\"}}\nspec: {"+targetReviews+", action: DENY, rules: [{}]}", reviewsWaypoint, false),
}

func TestDecideWherePoliciesApply(t *testing.T) {
	runDecideCases(t, selectorCases)
	runDecideCases(t, targetRefCases)
}

func TestApplicable(t *testing.T) {
	a := authorizer(t, denyAllIn("shop", selectReviews)+"\n---\n"+
		"metadata: {name: at-waypoint, namespace: shop}\nspec: {"+targetReviews+"}\n---\n"+
		"metadata: {name: trial, namespace: shop, annotations: {istio.io/dry-run: \"true\"}}\nspec: {}")
	for _, tc := range []struct {
		at   Point
		want []string
	}{
		{reviewsSidecar, []string{"deny-all"}},
		{reviewsWaypoint, []string{"at-waypoint"}},
		{ratingsSidecar, nil},
	} {
		var got []string
		for _, ap := range a.Applicable(tc.at) {
			got = append(got, ap.GetName())
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Applicable(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}
