package istio

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRoutedHostsFollowsDelegates(t *testing.T) {
	root := decodeOne(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: edge}
spec:
  hosts: [bookinfo.example.com]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {prefix: /reviews}}]
    delegate: {name: reviews-routes, namespace: shop}
  - match: [{uri: {prefix: /gone}}]
    delegate: {name: missing}
  - match: [{uri: {prefix: /hosted}}]
    delegate: {name: not-a-delegate, namespace: shop}
  - route:
    - destination: {host: productpage.shop.svc.cluster.local}
`)
	delegate := decodeOne(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-routes, namespace: shop}
spec:
  http:
  - route:
    - destination: {host: reviews, subset: v1}
`)
	hosted := decodeOne(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: not-a-delegate, namespace: shop}
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings}
`)
	hosts, missing := RoutedHosts(root, []*unstructured.Unstructured{root, delegate, hosted})
	want := []ScopedHost{{"productpage.shop.svc.cluster.local", "edge"}, {"reviews", "shop"}}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("hosts %+v, want %+v", hosts, want)
	}
	if !reflect.DeepEqual(missing, []string{"edge/missing", "shop/not-a-delegate"}) {
		t.Errorf("missing %v", missing)
	}
	gateways, mesh := VirtualServiceGateways(root)
	if !reflect.DeepEqual(gateways, []string{"edge/bookinfo-gateway"}) || mesh {
		t.Errorf("gateways %v, mesh %t", gateways, mesh)
	}
	if _, mesh := VirtualServiceGateways(delegate); !mesh {
		t.Error("a VirtualService without gateways applies to the mesh")
	}
}
