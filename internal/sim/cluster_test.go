package sim

import (
	"math/rand/v2"
	"testing"

	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// twoClusters is bookinfo's callers over two clusters: productpage and reviews-v1 in east,
// reviews-v3 in west, Service reviews in both, and a plaintext client in east. east's
// DestinationRule names both versions; extra objects go in through the arguments.
func twoClusters(eastVS []*networkingv1.VirtualService, eastAP, westAP []*securityv1.AuthorizationPolicy) []*Mesh {
	pod := func(app, version string, sidecar bool) corev1.Pod {
		p := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: app + "-" + version + "-0", Namespace: "default", Labels: map[string]string{"app": app, "version": version}},
			Spec:       corev1.PodSpec{ServiceAccountName: "bookinfo-" + app},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
		if sidecar {
			p.Spec.Containers = []corev1.Container{{Name: app}, {Name: "istio-proxy"}}
		}
		return p
	}
	reviews := corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "reviews"}, Ports: []corev1.ServicePort{{Port: 9080}}},
	}
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"}}
	dr.Spec.Host = "reviews"
	dr.Spec.Subsets = []*networkingapi.Subset{{Name: "v1", Labels: map[string]string{"version": "v1"}}, {Name: "v3", Labels: map[string]string{"version": "v3"}}}
	east := &Snapshot{
		Cluster:               "east",
		Pods:                  []corev1.Pod{pod("productpage", "v1", true), pod("reviews", "v1", true), pod("curl", "v1", false)},
		Services:              []corev1.Service{reviews},
		DestinationRules:      []*networkingv1.DestinationRule{dr},
		VirtualServices:       eastVS,
		AuthorizationPolicies: eastAP,
	}
	west := &Snapshot{
		Cluster:               "west",
		Pods:                  []corev1.Pod{pod("reviews", "v3", true)},
		Services:              []corev1.Service{reviews},
		AuthorizationPolicies: westAP,
	}
	return NewMeshes(east, west)
}

// allToV3 is a VirtualService sending every request for reviews to subset v3.
func allToV3() *networkingv1.VirtualService {
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"}}
	vs.Spec.Hosts = []string{"reviews"}
	vs.Spec.Http = []*networkingapi.HTTPRoute{{Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews", Subset: "v3"}}}}}
	return vs
}

// A Service of the same namespace and name in two clusters is one Service: a sidecar reaches
// the pods of both; a caller without one reaches only its own cluster's.
func TestServiceSpansClusters(t *testing.T) {
	meshes := twoClusters(nil, nil, nil)
	east := meshes[0]
	rng := rand.New(rand.NewPCG(1, 2))
	productpage, curl := east.WorkloadByApp("default", "productpage"), east.WorkloadByApp("default", "curl")
	seen := map[string]int{}
	for range 2000 {
		tg := east.route(rng, productpage, east.Service("reviews", "default"), Request{Path: "/reviews/0"})
		seen[tg.Workload.Cluster+"/"+tg.Workload.Name]++
		if tg := east.route(rng, curl, east.Service("reviews", "default"), Request{Path: "/reviews/0"}); tg.Workload.Cluster != "east" {
			t.Fatalf("a caller without a sidecar reached %s/%s", tg.Workload.Cluster, tg.Workload.Name)
		}
	}
	if seen["east/reviews-v1"] < 900 || seen["west/reviews-v3"] < 900 {
		t.Errorf("productpage's calls: %v, want both clusters' reviews about evenly", seen)
	}
	if got := east.Clusters(); len(got) != 2 || got[0] != "east" || got[1] != "west" {
		t.Errorf("clusters %v", got)
	}
	if meshes[1].WorkloadByApp("default", "productpage") != nil {
		t.Error("west's view found east's productpage as its own")
	}
}

// Each istiod reads its own cluster's routes: east's VirtualService routes east's callers,
// not west's.
func TestRoutesAreTheCallersCluster(t *testing.T) {
	meshes := twoClusters([]*networkingv1.VirtualService{allToV3()}, nil, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	svc := meshes[0].Service("reviews", "default")
	fromWest := map[string]int{}
	for range 1000 {
		if tg := meshes[0].RouteMesh(rng, "default", svc, Request{Path: "/"}); tg.Workload == nil || tg.Workload.Name != "reviews-v3" {
			t.Fatalf("east's VirtualService sent a call to %+v", tg)
		}
		fromWest[meshes[1].RouteMesh(rng, "default", svc, Request{Path: "/"}).Workload.Name]++
	}
	if fromWest["reviews-v1"] == 0 {
		t.Errorf("west's callers followed east's VirtualService: %v", fromWest)
	}
}
