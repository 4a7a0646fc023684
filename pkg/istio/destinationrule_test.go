package istio

import (
	"strings"
	"testing"
	"time"

	apinetworking "istio.io/api/networking/v1alpha3"
	apitype "istio.io/api/type/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func destinationRule(name, host string, age int, subsets ...string) *networkingv1.DestinationRule {
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(age) * time.Second))}}
	dr.Spec.Host = host
	for _, s := range subsets {
		dr.Spec.Subsets = append(dr.Spec.Subsets, &apinetworking.Subset{Name: s, Labels: map[string]string{"version": s + "-" + name}})
	}
	return dr
}

func TestMergeDestinationRules(t *testing.T) {
	svc := Service{Name: "reviews", Namespace: "shop"}
	selective := destinationRule("for-one-client", "reviews", 0, "v9")
	selective.Spec.WorkloadSelector = &apitype.WorkloadSelector{MatchLabels: map[string]string{"app": "x"}}
	m := MergeDestinationRules([]*networkingv1.DestinationRule{
		destinationRule("reviews-canary", "reviews.shop.svc.cluster.local", 10, "v2", "v3"),
		destinationRule("reviews", "reviews", 5, "v1", "v2"),
		destinationRule("typo", "reviews.shop", 0, "v4"),
		destinationRule("ratings", "ratings", 0, "v1"),
		selective,
	}, svc)
	var subsets []string
	for _, s := range m.Subsets {
		subsets = append(subsets, s.Name+"="+s.Labels["version"])
	}
	if strings.Join(m.Names, ",") != "reviews,reviews-canary" || strings.Join(subsets, ",") != "v1=v1-reviews,v2=v2-reviews,v3=v3-reviews-canary" {
		t.Errorf("merged %v with subsets %v", m.Names, subsets)
	}
	if len(m.Shadowed) != 1 || !strings.Contains(m.Shadowed[0], "subset v2 of DestinationRule reviews-canary is ignored") {
		t.Errorf("shadowed: %q", m.Shadowed)
	}
	if len(m.NearMisses) != 1 || !strings.Contains(m.NearMisses[0], `DestinationRule typo has host "reviews.shop"`) {
		t.Errorf("near misses: %q", m.NearMisses)
	}
}
