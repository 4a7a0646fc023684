package lockdown

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// dataplanes are the status's data plane per workload.
func dataplanes(in Input) map[string]string {
	got := map[string]string{}
	for _, w := range ComputeStatus(in).Workloads {
		got[w.Workload] = w.Dataplane
	}
	return got
}

// The status names the waypoints istiod binds and no other: the pods' own (a workload
// waypoint) beside the Services', and none that refuses the traffic.
func TestStatusNamesTheWaypointsIstiodBinds(t *testing.T) {
	got := dataplanes(loadInput(t, "ambient-waypoints", "amb"))
	want := map[string]string{
		"api-v1": "ambient + waypoint amb/api-waypoint", "cache-v1": "ambient + waypoint amb/api-waypoint",
		"db-v1":     "ambient + waypoint infra/shared",
		"legacy-v1": "ambient", "reviews-v1": "ambient", "ratings-v1": "ambient",
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("data planes %v, want %v", got, want)
	}
}

// The GatewayClass's istio.io/waypoint-for counts where the waypoint has none: a class for
// workload traffic takes Service reviews out of its waypoint.
func TestLockdownReadsWaypointForFromTheGatewayClass(t *testing.T) {
	in := loadInput(t, "ambient", "amb")
	in.GatewayClasses = append(in.GatewayClasses, object(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio-waypoint, labels: {istio.io/waypoint-for: workload}}
spec: {controllerName: istio.io/mesh-controller}`))
	plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "ns/amb")})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Waypoints) != 0 {
		t.Errorf("Service reviews bound to a waypoint for workload traffic: %+v", plan.Waypoints)
	}
	want := "Service reviews uses waypoint amb/waypoint, but istiod does not bind Service reviews to it: waypoint amb/waypoint is not for service traffic (istio.io/waypoint-for=workload on GatewayClass istio-waypoint"
	if warnings := strings.Join(plan.Warnings, "\n"); !strings.Contains(warnings, want) {
		t.Errorf("warnings lack %q:\n%s", want, warnings)
	}
	if got := dataplanes(in)["reviews-v1"]; got != "ambient" {
		t.Errorf("status of reviews-v1: %q", got)
	}
}

// A namespace's waypoint for all traffic carries its Services' traffic and the traffic
// addressed to its pods: a policy per Service and one targeting the waypoint; a namespace's
// waypoint for Service traffic (the default) gives the pods none, and says nothing of it.
func TestLockdownNamespaceWaypointForAllTraffic(t *testing.T) {
	for _, tt := range []struct {
		waypointFor string
		workload    bool
	}{{"all", true}, {"service", false}} {
		t.Run(tt.waypointFor, func(t *testing.T) {
			in := loadInput(t, "ambient", "amb")
			in.NamespaceLabels = map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
			in.K8sGateways[0].SetLabels(map[string]string{"istio.io/waypoint-for": tt.waypointFor})
			plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "ns/amb")})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range plan.Changes {
				names = append(names, c.After.GetName())
			}
			text := renderPlan(t, plan, WriteSummary)
			hasWorkloadPolicy := strings.Contains(strings.Join(names, " "), "kubectl-mesh-workload-waypoint-allow-waypoint")
			if hasWorkloadPolicy != tt.workload || !strings.Contains(text, "kubectl-mesh-waypoint-allow-productpage") {
				t.Errorf("policies %v:\n%s", names, text)
			}
			if strings.Contains(strings.Join(plan.Warnings, "\n"), "workload traffic") {
				t.Errorf("a namespace's waypoint for Service traffic warned about for the pods: %v", plan.Warnings)
			}
			assertNoWidening(t, in, plan)
		})
	}
}

// Callers seen through a workload waypoint: the waypoint reports the original caller (by
// the destination's canonical name), ztunnel the waypoint. The caller is allowed at the
// waypoint, the waypoint at ztunnel, and both edges are judged allowed where Istio decides.
func TestLockdownWorkloadWaypointCallers(t *testing.T) {
	in := loadInput(t, "ambient-waypoints", "amb")
	atWaypoint := observed("api", "v1", "cluster.local/ns/shop/sa/web", true, 3)
	atWaypoint.Reporter = "waypoint"
	atZtunnel := observed("api", "v1", "cluster.local/ns/amb/sa/api-waypoint", true, 3)
	plan, err := Lockdown(in, Options{Observed: []Observation{atWaypoint, atZtunnel}})
	if err != nil {
		t.Fatal(err)
	}
	var b *WaypointBinding
	for i := range plan.Waypoints {
		if plan.Waypoints[i].Waypoint == "amb/api-waypoint" {
			b = &plan.Waypoints[i]
		}
	}
	if b == nil || b.Service != "" || fmt.Sprint(b.Workload) != "[api-v1]" || fmt.Sprint(b.Callers) != "[shop/web]" || fmt.Sprint(b.Identities) != "[amb/api-waypoint]" {
		t.Fatalf("binding of the workload waypoint: %+v", plan.Waypoints)
	}
	if got := fmt.Sprint(plan.Allowed["api-v1"]); got != "[amb/api-waypoint shop/web]" {
		t.Errorf("api-v1 allows %s at ztunnel", got)
	}
	for _, v := range plan.Observed {
		if !v.Allowed {
			t.Errorf("observed edge not allowed: %+v", v)
		}
	}
	policy := findChange(t, plan, "kubectl-mesh-workload-waypoint-allow-api-waypoint")
	refs, _, _ := unstructured.NestedSlice(policy.Object, "spec", "targetRefs")
	if fmt.Sprint(refs) != "[map[group:gateway.networking.k8s.io kind:Gateway name:api-waypoint]]" {
		t.Errorf("the workload waypoint's policy targets %v", refs)
	}
	if !strings.Contains(renderPlan(t, plan, WriteSummary), "  workload api-v1, at waypoint amb/api-waypoint <- shop/web (seen in traffic)") {
		t.Errorf("summary:\n%s", renderPlan(t, plan, WriteSummary))
	}
	assertNoWidening(t, in, plan)
}

// A workload waypoint already under an ALLOW policy that targets it keeps exactly it.
func TestLockdownKeepsAWorkloadWaypointsPolicy(t *testing.T) {
	in := loadInput(t, "ambient-waypoints", "amb")
	in.AuthorizationPolicies = append(in.AuthorizationPolicies, object(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: waypoint-web-only, namespace: amb}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: api-waypoint}]
  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]`))
	plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "ns/amb")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.After != nil && c.After.GetName() == "kubectl-mesh-workload-waypoint-allow-api-waypoint" {
			t.Errorf("a policy planned beside the waypoint's own:\n%s", renderPlan(t, plan, WriteSummary))
		}
	}
	if text := renderPlan(t, plan, WriteSummary); !strings.Contains(text, "workloads api-v1, cache-v1, at waypoint amb/api-waypoint <- unchanged: its own ALLOW policies decide, as before (amb/waypoint-web-only)") {
		t.Errorf("summary:\n%s", text)
	}
}

func findChange(t *testing.T, plan *Plan, name string) *unstructured.Unstructured {
	t.Helper()
	for _, c := range plan.Changes {
		if c.After != nil && c.After.GetName() == name {
			return c.After
		}
	}
	t.Fatalf("no change to %s planned:\n%s", name, renderPlan(t, plan, WriteSummary))
	return nil
}

// A workload behind a waypoint for its Service and another for its pods: both waypoints are
// allowed at its ztunnel, and neither is a caller at the other (a waypoint sends straight to
// the pods it serves).
func TestLockdownServiceAndWorkloadWaypoints(t *testing.T) {
	in := withLabels(t, loadInput(t, "ambient", "amb"), "reviews-v1-0", map[string]string{"istio.io/use-waypoint": "pods-wp"})
	in.K8sGateways = append(in.K8sGateways, object(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: pods-wp, namespace: amb, labels: {istio.io/waypoint-for: workload}}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}`))
	plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "shop/web")})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(plan.Allowed["reviews-v1"]); got != "[amb/pods-wp amb/waypoint shop/web]" {
		t.Errorf("reviews-v1 allows %s at ztunnel, want both waypoints and its caller", got)
	}
	for _, b := range plan.Waypoints {
		if fmt.Sprint(b.Callers) != "[shop/web]" {
			t.Errorf("%s at waypoint %s admits %v, want shop/web alone", b.subject(), b.Waypoint, b.Callers)
		}
	}
	if len(plan.Waypoints) != 2 {
		t.Errorf("bindings %+v, want Service reviews at amb/waypoint and workload reviews-v1 at amb/pods-wp", plan.Waypoints)
	}
	if got := dataplanes(in)["reviews-v1"]; got != "ambient + waypoint amb/waypoint, amb/pods-wp" {
		t.Errorf("status of reviews-v1: %q", got)
	}
	assertNoWidening(t, in, plan)
}

// A policy targeting a waypoint's Gateway applies to every Service it carries too: where a
// waypoint for all traffic carries a Service whose own narrow ALLOW policy is kept, the
// policy lockdown would write for the pods (targeting the Gateway) would widen that Service's
// traffic, and is refused.
func TestLockdownWorkloadWaypointPolicyNeverWidensItsServices(t *testing.T) {
	in := loadInput(t, "ambient", "amb")
	in.NamespaceLabels = map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
	in.K8sGateways[0].SetLabels(map[string]string{"istio.io/waypoint-for": "all"})
	in.AuthorizationPolicies = append(in.AuthorizationPolicies, object(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-from-web, namespace: amb}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]`))
	plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "ns/amb")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.After != nil && c.After.GetName() == "kubectl-mesh-workload-waypoint-allow-waypoint" {
			t.Errorf("lockdown writes a policy on the waypoint that admits namespace amb to Service reviews:\n%s", renderPlan(t, plan, WriteSummary))
		}
	}
	before := baseline(in)
	after := istio.Authorizer{Policies: before.Policies, RootNamespace: before.RootNamespace}
	for _, c := range plan.Changes {
		if c.After != nil && c.After.GetKind() == "AuthorizationPolicy" {
			after.Policies = append(after.Policies, c.After)
		}
	}
	at := istio.Point{At: istio.AtWaypoint, Gateway: "amb/waypoint", Service: "amb/reviews"}
	r := istio.Request{Principal: "cluster.local/ns/amb/sa/bookinfo-productpage"}
	if b, a := before.Decide(at, r), after.Decide(at, r); istio.Wider(b, a) {
		t.Errorf("Service reviews at its waypoint: before %s, after %s", b.Reason, a.Reason)
	}
}
