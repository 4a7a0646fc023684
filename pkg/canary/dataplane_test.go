package canary

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func waypoint(name, class, programmed string) *unstructured.Unstructured {
	gw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"spec":     map[string]any{"gatewayClassName": class},
	}}
	if programmed != "" {
		unstructured.SetNestedSlice(gw.Object, []any{map[string]any{"type": "Programmed", "status": programmed, "message": "waiting for the deployment"}}, "status", "conditions")
	}
	return gw
}

// In ambient mode ztunnel carries traffic at L4: a split takes effect only through a waypoint.
func TestAmbientSplitNeedsAWaypoint(t *testing.T) {
	ambient := map[string]string{"istio.io/dataplane-mode": "ambient"}
	withWaypoint := map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
	tests := []struct {
		name       string
		nsLabels   map[string]string
		svcLabels  map[string]string
		waypoints  []*unstructured.Unstructured
		req        Request
		wantErr    string
		wantWarn   string
		wantThough string
	}{
		{name: "no waypoint", nsLabels: ambient, req: Request{Percent: percent(10)},
			wantErr: "namespace default is in ambient mode and Service reviews uses no waypoint: ztunnel carries its traffic at L4 and cannot split HTTP requests; add one: istioctl waypoint apply -n default --enroll-namespace"},
		{name: "status without a waypoint warns", nsLabels: ambient, req: Request{}, wantWarn: "uses no waypoint"},
		{name: "the namespace's waypoint", nsLabels: withWaypoint, waypoints: []*unstructured.Unstructured{waypoint("waypoint", "istio-waypoint", "True")}, req: Request{Percent: percent(10)}, wantThough: "default/waypoint"},
		{name: "the Service's own waypoint", nsLabels: ambient, svcLabels: map[string]string{"istio.io/use-waypoint": "reviews-wp"},
			waypoints: []*unstructured.Unstructured{waypoint("reviews-wp", "istio-waypoint", "True")}, req: Request{Percent: percent(10)}, wantThough: "default/reviews-wp"},
		{name: "the Service opts out of the namespace's waypoint", nsLabels: withWaypoint, svcLabels: map[string]string{"istio.io/use-waypoint": "none"},
			waypoints: []*unstructured.Unstructured{waypoint("waypoint", "istio-waypoint", "True")}, req: Request{Percent: percent(10)}, wantErr: "uses no waypoint"},
		{name: "waypoint missing", nsLabels: withWaypoint, req: Request{Percent: percent(10)},
			wantErr: "namespace default uses waypoint default/waypoint, which does not exist"},
		{name: "not a waypoint", nsLabels: withWaypoint, waypoints: []*unstructured.Unstructured{waypoint("waypoint", "istio", "True")}, req: Request{Percent: percent(10)},
			wantErr: `that Gateway is of class "istio", not istio-waypoint`},
		{name: "waypoint not programmed", nsLabels: withWaypoint, waypoints: []*unstructured.Unstructured{waypoint("waypoint", "istio-waypoint", "False")}, req: Request{Percent: percent(10)},
			wantWarn: "waypoint default/waypoint is not Programmed (waiting for the deployment)", wantThough: "default/waypoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadGatewayAPIInput(t, "httproute-v1", allEndpointsReady)
			in.NamespaceLabels, in.ServiceLabels, in.Waypoints = tt.nsLabels, tt.svcLabels, tt.waypoints
			plan, err := Compute(in, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantWarn != "" && (len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], tt.wantWarn)) {
				t.Errorf("warnings %q, want one containing %q", plan.Warnings, tt.wantWarn)
			}
			if plan.Waypoint != tt.wantThough {
				t.Errorf("waypoint %q, want %q", plan.Waypoint, tt.wantThough)
			}
		})
	}
}

// In an ambient namespace a new route is an HTTPRoute, Istio's recommended API there.
func TestAmbientCreatesAnHTTPRoute(t *testing.T) {
	in := loadInput(t, "no-virtualservice", allReady, nil) // DestinationRule subsets exist
	in.Services = loadGatewayAPIInput(t, "", nil).Services
	in.EndpointSlices = loadGatewayAPIInput(t, "", allEndpointsReady).EndpointSlices
	in.ServicePorts = []int32{9080}
	in.NamespaceLabels = map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
	in.Waypoints = []*unstructured.Unstructured{waypoint("waypoint", "istio-waypoint", "True")}
	plan, err := Compute(in, Request{Percent: percent(10)})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Route.GetKind() != "HTTPRoute" {
		t.Errorf("created a %s in an ambient namespace", plan.Route.GetKind())
	}
	// Outside ambient, DestinationRule subsets mean a VirtualService.
	in.NamespaceLabels = nil
	if plan, err := Compute(in, Request{Percent: percent(10)}); err != nil || plan.Route.GetKind() != "VirtualService" {
		t.Errorf("with subsets outside ambient: %v", err)
	}
}

// A route whose parentRef leaves out the group names Service reviews in the API server's
// default group: what the user meant, though Istio does not attach it. It is edited, with a
// warning that says how to make it count.
func TestMisgroupedParentRef(t *testing.T) {
	in := loadGatewayAPIInput(t, "httproute-v1", allEndpointsReady)
	unstructured.SetNestedSlice(in.Routes[0].Object, []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Service", "name": "reviews", "port": int64(9080)}}, "spec", "parentRefs")
	plan, err := Compute(in, Request{Percent: percent(10)})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Create || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], `its parentRef says group: ""`) {
		t.Errorf("create=%t warnings %q", plan.Create, plan.Warnings)
	}
}

// waypointIn is a Programmed waypoint of namespace ns with labels and an HBONE listener whose
// allowedRoutes admit namespaces from (Same, All, Selector of team=shop; "" for none).
func waypointIn(ns, name string, labels map[string]string, from string) *unstructured.Unstructured {
	gw := waypoint(name, "istio-waypoint", "True")
	gw.SetNamespace(ns)
	gw.SetLabels(labels)
	listener := map[string]any{"name": "mesh", "port": int64(15008), "protocol": "HBONE"}
	switch from {
	case "":
	case "Selector":
		listener["allowedRoutes"] = map[string]any{"namespaces": map[string]any{"from": from, "selector": map[string]any{"matchLabels": map[string]any{"team": "shop"}}}}
	default:
		listener["allowedRoutes"] = map[string]any{"namespaces": map[string]any{"from": from}}
	}
	unstructured.SetNestedSlice(gw.Object, []any{listener}, "spec", "listeners")
	return gw
}

// A split needs a waypoint istiod binds the Service to: not one for workload traffic only (by
// its label or its GatewayClass's) or for none, nor one of another namespace whose HBONE
// listener does not admit the Service's. Refused as a split without a waypoint is.
func TestAmbientSplitNeedsAWaypointForTheService(t *testing.T) {
	ambient := map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
	remote := map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-namespace": "infra"}
	workloadClass := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
		"metadata": map[string]any{"name": "istio-waypoint", "labels": map[string]any{"istio.io/waypoint-for": "workload"}},
	}}
	forWorkload := map[string]string{"istio.io/waypoint-for": "workload"}
	tests := []struct {
		name     string
		nsLabels map[string]string
		gw       *unstructured.Unstructured
		classes  []*unstructured.Unstructured
		wantErr  string
		wantVia  string
	}{
		{name: "for workload traffic", nsLabels: ambient, gw: waypointIn("default", "waypoint", forWorkload, ""),
			wantErr: "namespace default uses waypoint default/waypoint, but istiod does not send Service reviews's traffic through it: waypoint default/waypoint is not for service traffic (istio.io/waypoint-for=workload on Gateway default/waypoint; Service reviews needs service or all); ztunnel cannot split HTTP requests, so the split would be ignored; label Gateway default/waypoint istio.io/waypoint-for=service (or all) if it should carry Service traffic, or use another waypoint"},
		{name: "for no traffic", nsLabels: ambient, gw: waypointIn("default", "waypoint", map[string]string{"istio.io/waypoint-for": "none"}, ""),
			wantErr: "istio.io/waypoint-for=none on Gateway default/waypoint"},
		{name: "its class is for workload traffic", nsLabels: ambient, gw: waypointIn("default", "waypoint", nil, ""), classes: []*unstructured.Unstructured{workloadClass},
			wantErr: "istio.io/waypoint-for=workload on GatewayClass istio-waypoint"},
		{name: "for all traffic", nsLabels: ambient, gw: waypointIn("default", "waypoint", map[string]string{"istio.io/waypoint-for": "all"}, ""), classes: []*unstructured.Unstructured{workloadClass},
			wantVia: "default/waypoint"},
		{name: "another namespace's, admitting its own only", nsLabels: remote, gw: waypointIn("infra", "waypoint", nil, ""),
			wantErr: "namespace default uses waypoint infra/waypoint, but istiod does not send Service reviews's traffic through it: waypoint infra/waypoint does not admit namespace default, where Service reviews is (allowedRoutes of its HBONE listener on port 15008; by default its own namespace only); ztunnel cannot split HTTP requests, so the split would be ignored; let the allowedRoutes of Gateway infra/waypoint's HBONE listener (port 15008) admit namespace default, or use another waypoint"},
		{name: "another namespace's, from Same", nsLabels: remote, gw: waypointIn("infra", "waypoint", nil, "Same"), wantErr: "does not admit namespace default"},
		{name: "another namespace's, from All", nsLabels: remote, gw: waypointIn("infra", "waypoint", nil, "All"), wantVia: "infra/waypoint"},
		{name: "another namespace's, by a selector the namespace matches", nsLabels: map[string]string{"team": "shop", "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-namespace": "infra"},
			gw: waypointIn("infra", "waypoint", nil, "Selector"), wantVia: "infra/waypoint"},
		{name: "another namespace's, by a selector the namespace does not match", nsLabels: remote, gw: waypointIn("infra", "waypoint", nil, "Selector"), wantErr: "does not admit namespace default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadGatewayAPIInput(t, "httproute-v1", allEndpointsReady)
			in.NamespaceLabels, in.Waypoints, in.GatewayClasses = tt.nsLabels, []*unstructured.Unstructured{tt.gw}, tt.classes
			plan, err := Compute(in, Request{Percent: percent(10)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tt.wantErr, err)
				}
				status, err := Compute(in, Request{})
				if err != nil {
					t.Fatalf("status: %v", err)
				}
				if status.Waypoint != "" || len(status.Warnings) != 1 || !strings.Contains(status.Warnings[0], tt.wantErr) {
					t.Errorf("status: waypoint %q, warnings %q; want the problem as a warning and no waypoint", status.Waypoint, status.Warnings)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.Waypoint != tt.wantVia || !plan.Changed {
				t.Errorf("waypoint %q (changed %t), want a split through %q", plan.Waypoint, plan.Changed, tt.wantVia)
			}
		})
	}
}
