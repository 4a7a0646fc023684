package doctor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// lockedDown is what kubectl mesh lockdown writes in ns: STRICT mTLS and default deny.
func lockedDown(ns string) []string {
	return []string{
		fmt.Sprintf("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: %s, labels: {app.kubernetes.io/managed-by: kubectl-mesh}}\nspec: {mtls: {mode: STRICT}}\n", ns),
		fmt.Sprintf("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all, namespace: %s, labels: {app.kubernetes.io/managed-by: kubectl-mesh}}\nspec: {}\n", ns),
	}
}

func TestDriftLockdown(t *testing.T) {
	strictOnly := "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\nspec: {mtls: {mode: STRICT}}\n"
	allowSome := "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: web, namespace: shop}\nspec: {rules: [{}]}\n"
	tests := []struct {
		name       string
		east, west []string
		want       []string
	}{
		{"both open", []string{namespace("shop", "")}, []string{namespace("shop", "")}, nil},
		{"both locked", append(lockedDown("shop"), namespace("shop", "")), append(lockedDown("shop"), namespace("shop", "")), nil},
		{"east only", append(lockedDown("shop"), namespace("shop", "")), []string{namespace("shop", ""), allowSome}, []string{"warning Namespace/shop cluster-east,cluster-west"}},
		{"STRICT in west only", []string{namespace("shop", "")}, []string{namespace("shop", ""), strictOnly}, []string{"warning Namespace/shop cluster-west,cluster-east"}},
		{"in east only, a namespace west lacks", append(lockedDown("shop"), namespace("shop", "")), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clusters := []ClusterInput{clusterOf(t, "cluster-east", tt.east...), clusterOf(t, "cluster-west", tt.west...)}
			if got := driftOf(clusters, CheckDriftLockdown); !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	east := clusterOf(t, "cluster-east", append(lockedDown("shop"), namespace("shop", ""), namespace("other", ""))...)
	west := clusterOf(t, "cluster-west", namespace("shop", ""), namespace("other", ""))
	why := whyOf(t, []ClusterInput{east, west}, CheckDriftLockdown)
	for _, want := range []string{"locked down (STRICT mTLS and an allow-nothing AuthorizationPolicy) in cluster cluster-east (context east) (written there by kubectl mesh lockdown)", "open in cluster cluster-west (context west)"} {
		if !strings.Contains(why, want) {
			t.Errorf("why %q lacks %q", why, want)
		}
	}
	east.Input.Scope, west.Input.Scope = "other", "other"
	if got := driftOf([]ClusterInput{east, west}, CheckDriftLockdown); len(got) != 0 {
		t.Errorf("shop is out of scope: %q", got)
	}
	west.Input.Scope, east.Input.Scope = "", ""
	west.Input.Unknown[AuthzReads] = true
	if got := driftOf([]ClusterInput{east, west}, CheckDriftLockdown); len(got) != 0 {
		t.Errorf("west's policies unreadable: no guess, got %q", got)
	}
}

func virtualService(ns, name string, v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: %s, namespace: %s}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v1}, weight: %d}, {destination: {host: reviews, subset: v2}, weight: %d}]}]
`, name, ns, v1, v2)
}

func TestDriftRoutes(t *testing.T) {
	control := istiod("stable", "1.24.2")
	dr := func(lb string) string {
		return fmt.Sprintf("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews, namespace: shop}\nspec: {host: reviews, trafficPolicy: {loadBalancer: {simple: %s}}}\n", lb)
	}
	east := clusterOf(t, "cluster-east", control, namespace("shop", ""), virtualService("shop", "reviews", 90, 10), virtualService("shop", "ratings", 100, 0), dr("ROUND_ROBIN"))
	west := clusterOf(t, "cluster-west", control, namespace("shop", ""), virtualService("shop", "reviews", 50, 50), dr("LEAST_REQUEST"))
	clusters := []ClusterInput{east, west}
	want := []string{
		"warning VirtualService/shop/ratings cluster-east,cluster-west",
		"warning VirtualService/shop/reviews cluster-east,cluster-west",
		"warning DestinationRule/shop/reviews cluster-east,cluster-west",
	}
	if got := driftOf(clusters, CheckDriftRoute); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	whys := map[string]string{}
	for _, f := range Drift(clusters) {
		whys[f.Object.String()] = f.Why
	}
	for object, want := range map[string]string{
		"VirtualService/shop/reviews":  "differs, cluster cluster-east (context east) vs cluster cluster-west (context west): http[0].route[0].weight (90 vs 50), http[0].route[1].weight (10 vs 50)",
		"VirtualService/shop/ratings":  "is in cluster cluster-east (context east) only, not in cluster cluster-west (context west)",
		"DestinationRule/shop/reviews": `trafficPolicy.loadBalancer.simple ("ROUND_ROBIN" vs "LEAST_REQUEST")`,
	} {
		if !strings.Contains(whys[object], want) {
			t.Errorf("%s: why %q lacks %q", object, whys[object], want)
		}
	}
	remote := clusterOf(t, "cluster-west", namespace("shop", ""))
	if got := driftOf([]ClusterInput{east, remote}, CheckDriftRoute); len(got) != 0 {
		t.Errorf("a remote's config is read from a primary, its own routes do not count: %q", got)
	}
	same := clusterOf(t, "cluster-west", control, namespace("shop", ""), virtualService("shop", "reviews", 90, 10), virtualService("shop", "ratings", 100, 0), dr("ROUND_ROBIN"))
	if got := driftOf([]ClusterInput{east, same}, CheckDriftRoute); len(got) != 0 {
		t.Errorf("the same routes: %q", got)
	}
}

func TestSpecDifferences(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{`{"x":1}`, `{"x":2}`, "x (1 vs 2)"},
		{`{"x":1}`, `{}`, "x (1 vs unset)"},
		{`{"l":[1,2]}`, `{"l":[1]}`, "l (2 items vs 1)"},
		{`{"a":1,"b":1,"c":1,"d":1}`, `{}`, "a (1 vs unset), b (1 vs unset), c (1 vs unset), and 1 more"},
		{`null`, `{"x":1}`, "spec (unset vs {\"x\":1})"},
	}
	for _, tt := range tests {
		if got := specDifferences(tt.a, tt.b); got != tt.want {
			t.Errorf("specDifferences(%s, %s) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDriftWaypoint(t *testing.T) {
	waypoint := "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: waypoint, namespace: shop}\nspec: {gatewayClassName: istio-waypoint}\n"
	east := clusterOf(t, "cluster-east", namespace("shop", ""), waypoint)
	west := clusterOf(t, "cluster-west", namespace("shop", ""))
	if got, want := driftOf([]ClusterInput{east, west}, CheckDriftWaypoint), []string{"warning Gateway/shop/waypoint cluster-east,cluster-west"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if why := whyOf(t, []ClusterInput{east, west}, CheckDriftWaypoint); !strings.Contains(why, "waypoint shop/waypoint is in cluster cluster-east (context east) only, not in cluster cluster-west (context west)") {
		t.Errorf("why: %s", why)
	}
	both := clusterOf(t, "cluster-west", namespace("shop", ""), waypoint)
	if got := driftOf([]ClusterInput{east, both}, CheckDriftWaypoint); len(got) != 0 {
		t.Errorf("a waypoint in both: %q", got)
	}
}

// The root namespace's policies are mesh-wide, and lockdown refuses it: the fix says so.
func TestDriftLockdownRootNamespace(t *testing.T) {
	strict := "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n"
	clusters := []ClusterInput{clusterOf(t, "cluster-east", namespace("istio-system", ""), strict), clusterOf(t, "cluster-west", namespace("istio-system", ""))}
	for _, f := range Drift(clusters) {
		if f.Check == CheckDriftLockdown && !strings.Contains(f.Fix, "mesh-wide PeerAuthentication") {
			t.Errorf("fix for the root namespace: %s", f.Fix)
		}
	}
	if got := driftOf(clusters, CheckDriftLockdown); len(got) != 1 {
		t.Errorf("mesh-wide STRICT in east only: %q", got)
	}
}
