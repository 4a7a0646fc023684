package istio

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
)

func decodeOne(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	objects, err := manifest.Decode([]byte(doc))
	if err != nil || len(objects) != 1 {
		t.Fatalf("decoding: %v (%d objects)", err, len(objects))
	}
	return objects[0]
}

func TestRouteReferences(t *testing.T) {
	route := decodeOne(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bookinfo, namespace: shop}
spec:
  parentRefs:
  - name: ingress
  - {name: edge, namespace: infra, sectionName: https}
  - {group: "", kind: Service, name: reviews, port: 9080}
  - {group: core, kind: Service, name: ratings}
  rules:
  - backendRefs:
    - {name: productpage, port: 9080}
    - {name: reviews-v2, namespace: other, weight: 10}
    - {group: example.com, kind: Bucket, name: static}
  - backendRefs:
    - {kind: Service, group: "", name: details}
`)
	gateways := []Ref{
		{Group: GatewayAPIGroup, Kind: "Gateway", Namespace: "shop", Name: "ingress"},
		{Group: GatewayAPIGroup, Kind: "Gateway", Namespace: "infra", Name: "edge", SectionName: "https"},
	}
	services := []Ref{
		{Kind: "Service", Namespace: "shop", Name: "reviews", Port: 9080},
		{Kind: "Service", Namespace: "shop", Name: "ratings"},
	}
	backends := []Ref{
		{Kind: "Service", Namespace: "shop", Name: "productpage", Port: 9080},
		{Kind: "Service", Namespace: "other", Name: "reviews-v2"},
		{Kind: "Service", Namespace: "shop", Name: "details"},
	}
	if got := ParentGateways(route); !reflect.DeepEqual(got, gateways) {
		t.Errorf("ParentGateways = %+v", got)
	}
	if got := ParentServices(route); !reflect.DeepEqual(got, services) {
		t.Errorf("ParentServices = %+v", got)
	}
	if got := BackendServices(route); !reflect.DeepEqual(got, backends) {
		t.Errorf("BackendServices = %+v", got)
	}
}

func TestGatewayDeploymentName(t *testing.T) {
	gw := decodeOne(t, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: bookinfo-gateway, namespace: shop}\nspec: {gatewayClassName: istio}\n")
	if got := GatewayDeploymentName(gw); got != "bookinfo-gateway-istio" {
		t.Errorf("class istio: %s", got)
	}
	unstructured.SetNestedField(gw.Object, GatewayClassWaypoint, "spec", "gatewayClassName")
	if got := GatewayDeploymentName(gw); got != "bookinfo-gateway" {
		t.Errorf("waypoint: %s", got)
	}
	gw.SetAnnotations(map[string]string{"gateway.istio.io/name-override": "edge"})
	if got := GatewayDeploymentName(gw); got != "edge" {
		t.Errorf("override: %s", got)
	}
}
