package lockdown

import (
	"strings"
	"testing"
)

func observed(app, version, principal string, mtls bool, rate float64) Observation {
	o := Observation{DestinationApp: app, DestinationVersion: version, MTLS: mtls, Protocol: "http", Rate: rate, SourceWorkload: "unknown", SourceNamespace: "unknown"}
	if principal != "" {
		o.SourcePrincipal = principal
		parts := strings.Split(principal, "/")
		o.SourceNamespace, o.SourceWorkload = parts[2], parts[4]
	}
	return o
}

func TestLockdownAllowsCallersSeenInTraffic(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	traffic := []Observation{
		observed("productpage", "v1", "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account", true, 10),
		observed("reviews", "v1", "cluster.local/ns/default/sa/bookinfo-productpage", true, 4),
		observed("reviews", "v2", "cluster.local/ns/default/sa/bookinfo-productpage", true, 4),
		observed("details", "v1", "cluster.local/ns/default/sa/bookinfo-productpage", true, 8),
		observed("ratings", "v1", "cluster.local/ns/default/sa/bookinfo-reviews", true, 2),
		observed("ratings", "v1", "cluster.local/ns/monitoring/sa/prober", true, 0.1), // another namespace
		observed("gone", "v9", "cluster.local/ns/default/sa/x", true, 1),              // no such workload
	}
	plan, err := Lockdown(in, Options{Observed: traffic})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"productpage-v1": "istio-system/istio-ingressgateway-service-account",
		"reviews-v1":     "default/bookinfo-productpage",
		"reviews-v2":     "default/bookinfo-productpage",
		"details-v1":     "default/bookinfo-productpage",
		"ratings-v1":     "default/bookinfo-reviews, monitoring/prober",
	}
	for workload, callers := range want {
		var got []string
		for _, c := range plan.Allowed[workload] {
			got = append(got, c.String())
		}
		if strings.Join(got, ", ") != callers {
			t.Errorf("%s allowed %v, want %s", workload, got, callers)
		}
	}
	if len(plan.Observed) != len(traffic) {
		t.Fatalf("%d verdicts for %d observed edges: %+v", len(plan.Observed), len(traffic), plan.Observed)
	}
	for _, v := range plan.Observed {
		if v.Workload == "gone" {
			if v.Allowed {
				t.Errorf("traffic to a workload that is gone counted as allowed: %+v", v)
			}
			continue
		}
		if !v.Allowed {
			t.Errorf("observed mTLS edge not allowed by the plan: %+v", v)
		}
	}
}

func TestLockdownStopsOnPlaintextSeenInTraffic(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	traffic := []Observation{
		observed("productpage", "v1", "", false, 2),
		observed("productpage", "v1", "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account", true, 10),
	}
	_, err := Lockdown(in, Options{Observed: traffic, OutsideMesh: []string{"legacy/curl-client"}})
	want := "default/productpage-v1 receives plaintext traffic (2.00/s) from callers outside the mesh; workloads outside the mesh that may be the callers: legacy/curl-client"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("want the plaintext caller named, got %v", err)
	}
	plan, err := Lockdown(in, Options{Observed: traffic, OutsideMesh: []string{"legacy/curl-client"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Observed) != len(traffic) {
		t.Fatalf("%d verdicts for %d observed edges: %+v", len(plan.Observed), len(traffic), plan.Observed)
	}
	verdicts := map[bool]string{}
	for _, v := range plan.Observed {
		verdicts[v.MTLS] = v.Why
	}
	if verdicts[false] != "rejected: plaintext under STRICT" || verdicts[true] != "allowed: ingress gateway default/bookinfo-gateway, routed by VirtualService default/bookinfo" {
		t.Errorf("verdicts: %v", verdicts)
	}
}
