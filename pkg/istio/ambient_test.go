package istio

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// waypointGateway is a waypoint named wp in namespace infra (labels as YAML, "{}" for none)
// whose HBONE listener has allowedRoutes (YAML, "" for none).
func waypointGateway(t *testing.T, labels, allowedRoutes string) *unstructured.Unstructured {
	t.Helper()
	listener := "{name: mesh, port: 15008, protocol: HBONE}"
	if allowedRoutes != "" {
		listener = "{name: mesh, port: 15008, protocol: HBONE, allowedRoutes: " + allowedRoutes + "}"
	}
	return decodeOne(t, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: wp, namespace: infra, labels: "+labels+"}\n"+
		"spec: {gatewayClassName: istio-waypoint, listeners: ["+listener+"]}\n")
}

func TestWaypointCarries(t *testing.T) {
	workloadClass := decodeOne(t, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: istio-waypoint, labels: {istio.io/waypoint-for: workload}}\n")
	otherClass := decodeOne(t, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: istio, labels: {istio.io/waypoint-for: all}}\n")
	ingress := decodeOne(t, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: wp, namespace: infra}\nspec: {gatewayClassName: istio}\n")
	team := map[string]string{"team": "shop"}
	tests := []struct {
		name          string
		gw            *unstructured.Unstructured
		classes       []*unstructured.Unstructured
		kind, ns      string
		nsLabels      map[string]string
		want          bool
		whyContaining string
	}{
		{"default: Service traffic", waypointGateway(t, "{}", ""), nil, TrafficService, "infra", nil, true, ""},
		{"default: no workload traffic", waypointGateway(t, "{}", ""), nil, TrafficWorkload, "infra", nil, false,
			"waypoint infra/wp is not for workload traffic (the default: no istio.io/waypoint-for label on the Gateway or its GatewayClass; workload api needs workload or all)"},
		{"for workload: no Service traffic", waypointGateway(t, "{istio.io/waypoint-for: workload}", ""), nil, TrafficService, "infra", nil, false,
			"waypoint infra/wp is not for service traffic (istio.io/waypoint-for=workload on Gateway infra/wp; Service api needs service or all)"},
		{"for workload: workload traffic", waypointGateway(t, "{istio.io/waypoint-for: workload}", ""), nil, TrafficWorkload, "infra", nil, true, ""},
		{"for none: nothing", waypointGateway(t, "{istio.io/waypoint-for: none}", ""), nil, TrafficService, "infra", nil, false, "istio.io/waypoint-for=none on Gateway infra/wp"},
		{"none: no workload traffic either", waypointGateway(t, "{istio.io/waypoint-for: none}", ""), nil, TrafficWorkload, "infra", nil, false, "not for workload traffic"},
		{"all: Service traffic", waypointGateway(t, "{istio.io/waypoint-for: all}", ""), nil, TrafficService, "infra", nil, true, ""},
		{"all: workload traffic", waypointGateway(t, "{istio.io/waypoint-for: all}", ""), nil, TrafficWorkload, "infra", nil, true, ""},
		{"the class says workload", waypointGateway(t, "{}", ""), []*unstructured.Unstructured{otherClass, workloadClass}, TrafficService, "infra", nil, false,
			"istio.io/waypoint-for=workload on GatewayClass istio-waypoint"},
		{"the Gateway's label wins over the class's", waypointGateway(t, "{istio.io/waypoint-for: service}", ""), []*unstructured.Unstructured{workloadClass}, TrafficService, "infra", nil, true, ""},
		{"another namespace, no allowedRoutes: refused", waypointGateway(t, "{}", ""), nil, TrafficService, "shop", nil, false,
			"waypoint infra/wp does not admit namespace shop, where Service api is (allowedRoutes of its HBONE listener on port 15008; by default its own namespace only)"},
		{"another namespace, from Same: refused", waypointGateway(t, "{}", "{namespaces: {from: Same}}"), nil, TrafficService, "shop", nil, false, "does not admit namespace shop"},
		{"another namespace, from All", waypointGateway(t, "{}", "{namespaces: {from: All}}"), nil, TrafficService, "shop", nil, true, ""},
		{"another namespace, selector matching", waypointGateway(t, "{}", "{namespaces: {from: Selector, selector: {matchLabels: {team: shop}}}}"), nil, TrafficService, "shop", team, true, ""},
		{"another namespace, selector not matching", waypointGateway(t, "{}", "{namespaces: {from: Selector, selector: {matchLabels: {team: shop}}}}"), nil, TrafficService, "shop", nil, false, "does not admit namespace shop"},
		{"own namespace, selector not matching it", waypointGateway(t, "{istio.io/waypoint-for: all}", "{namespaces: {from: Selector, selector: {matchLabels: {team: shop}}}}"), nil, TrafficService, "infra", nil, false, "does not admit namespace infra"},
		{"a Gateway of another class", ingress, nil, TrafficService, "infra", nil, false, `Gateway infra/wp is of class "istio", not istio-waypoint`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := WaypointCarries(tt.gw, tt.classes, tt.kind, "api", tt.ns, tt.nsLabels)
			if got != tt.want || !strings.Contains(why, tt.whyContaining) || (got && why != "") {
				t.Errorf("WaypointCarries = %v, %q; want %v, containing %q", got, why, tt.want, tt.whyContaining)
			}
		})
	}
}

// A waypoint without an HBONE listener on port 15008 admits its own namespace only; other
// listeners' allowedRoutes do not count.
func TestWaypointCarriesReadsOnlyTheHBONEListener(t *testing.T) {
	gw := decodeOne(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: wp, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - {name: other, port: 15009, protocol: HBONE, allowedRoutes: {namespaces: {from: All}}}
`)
	if ok, _ := WaypointCarries(gw, nil, TrafficService, "api", "shop", nil); ok {
		t.Error("another namespace admitted by a listener that is not the HBONE one on 15008")
	}
	if ok, why := WaypointCarries(gw, nil, TrafficService, "api", "infra", nil); !ok {
		t.Errorf("own namespace refused: %s", why)
	}
}
