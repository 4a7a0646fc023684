package lockdown

import (
	"fmt"
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

// withLabels adds labels to the pod named in in.
func withLabels(t *testing.T, in Input, podName string, labels map[string]string) Input {
	t.Helper()
	for i := range in.Pods {
		if in.Pods[i].Name == podName {
			for k, v := range labels {
				in.Pods[i].Labels[k] = v
			}
			return in
		}
	}
	t.Fatalf("no pod %s", podName)
	return in
}

// ztunnel and waypoints name an ambient pod by its canonical service and revision
// (app.kubernetes.io/version before version), sidecars by app and version: a pod labelled
// version v1 and app.kubernetes.io/version 1.4.2 is 1.4.2 in ztunnel's reports and v1 in its
// sidecar's. Its callers are allowed, and plaintext seen by ztunnel stops the lockdown.
func TestLockdownMatchesTelemetryAsTheReporterNamesPods(t *testing.T) {
	revision := map[string]string{"app.kubernetes.io/version": "1.4.2"}
	t.Run("ambient: canonical revision", func(t *testing.T) {
		in := withLabels(t, loadInput(t, "ambient", "amb"), "details-v1-0", revision)
		seen := []Observation{
			observed("details", "1.4.2", "cluster.local/ns/shop/sa/web", true, 2),
			observed("details", "v1", "cluster.local/ns/shop/sa/stale", true, 1), // no reporter names it so
		}
		plan, err := Lockdown(in, Options{Observed: seen})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(plan.Allowed["details-v1"]); got != "[shop/web]" {
			t.Errorf("details-v1 allows %s, want the caller ztunnel saw", got)
		}
		_, err = Lockdown(in, Options{Observed: append(seen, observed("details", "1.4.2", "", false, 1))})
		if err == nil || !strings.Contains(err.Error(), "amb/details-v1 receives plaintext traffic (1.00/s)") {
			t.Errorf("plaintext seen by ztunnel: %v", err)
		}
	})
	t.Run("ambient: canonical name", func(t *testing.T) {
		in := withLabels(t, loadInput(t, "ambient", "amb"), "details-v1-0", map[string]string{"service.istio.io/canonical-name": "details-api", "service.istio.io/canonical-revision": "r7"})
		plan, err := Lockdown(in, Options{Observed: []Observation{observed("details-api", "r7", "cluster.local/ns/shop/sa/web", true, 2)}})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(plan.Allowed["details-v1"]); got != "[shop/web]" {
			t.Errorf("details-v1 allows %s", got)
		}
	})
	t.Run("waypoint: canonical revision", func(t *testing.T) {
		in := withLabels(t, loadInput(t, "ambient", "amb"), "reviews-v1-0", revision)
		atWaypoint := observed("reviews", "1.4.2", "cluster.local/ns/shop/sa/web", true, 2)
		atWaypoint.Reporter = "waypoint"
		plan, err := Lockdown(in, Options{Observed: []Observation{atWaypoint}})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Waypoints) != 1 || fmt.Sprint(plan.Waypoints[0].Callers) != "[shop/web]" {
			t.Errorf("waypoint bindings %+v, want shop/web admitted to Service reviews", plan.Waypoints)
		}
		if len(plan.Observed) != 1 || !plan.Observed[0].Allowed || plan.Observed[0].Workload != "reviews-v1" {
			t.Errorf("verdicts %+v", plan.Observed)
		}
	})
	t.Run("sidecar: app and version", func(t *testing.T) {
		in := withLabels(t, loadInput(t, "bookinfo", "default"), "details-v1-0", revision)
		seen := []Observation{
			observed("details", "v1", "cluster.local/ns/shop/sa/web", true, 2),
			observed("details", "1.4.2", "cluster.local/ns/shop/sa/stale", true, 1),
		}
		plan, err := Lockdown(in, Options{Observed: seen})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(plan.Allowed["details-v1"]); !strings.Contains(got, "shop/web") || strings.Contains(got, "shop/stale") {
			t.Errorf("details-v1 allows %s, want the caller its sidecar saw", got)
		}
	})
}
