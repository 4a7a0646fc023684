package lockdown

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func sidecarlessPod(name string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "legacy"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
	}
}

func TestLockdownPreflightStopsOnPodsWithoutSidecar(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	in.Pods = append(in.Pods, sidecarlessPod("legacy-b"), sidecarlessPod("legacy-a"))
	_, err := Lockdown(in, Options{})
	if err == nil || !strings.Contains(err.Error(), "2 pods in namespace default have no istio-proxy sidecar and cannot serve STRICT mTLS: legacy-a, legacy-b") ||
		!strings.Contains(err.Error(), "--force") {
		t.Fatalf("want a preflight error naming both pods, got %v", err)
	}
	plan, err := Lockdown(in, Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) == 0 || !strings.Contains(plan.Warnings[0], "legacy-a, legacy-b") || len(plan.Writes) != 3 {
		t.Errorf("--force: warnings %q, %d writes", plan.Warnings, len(plan.Writes))
	}
}

func TestLockdownRefuses(t *testing.T) {
	foreign := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
			"metadata": map[string]any{"name": name, "namespace": "default", "labels": map[string]any{ManagedByLabel: ManagedByValue}},
			"spec":     map[string]any{},
		}}
	}
	tests := []struct {
		name   string
		mutate func(*Input)
		want   string
	}{
		{"root namespace", func(in *Input) { in.Namespace = RootNamespace }, "Istio's root namespace"},
		{"foreign policy holding our deny name", func(in *Input) {
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, foreign(DenyPolicyName))
		}, "authorizationpolicy/kubectl-mesh-default-deny exists and was not created by kubectl mesh lockdown"},
		{"foreign policy holding an allow name", func(in *Input) {
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, foreign("kubectl-mesh-allow-productpage-v1"))
		}, "authorizationpolicy/kubectl-mesh-allow-productpage-v1 exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadInput(t, "bookinfo", "default")
			tt.mutate(&in)
			if _, err := Lockdown(in, Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error containing %q, got %v", tt.want, err)
			}
		})
	}
}

// A foreign policy labelled as ours but without lockdown's record is never deleted by undo.
func TestUndoLeavesLookalikesAlone(t *testing.T) {
	in := loadInput(t, "existing-policies", "shop")
	lookalike := in.AuthorizationPolicies[0].DeepCopy()
	lookalike.SetName("kubectl-mesh-allow-api")
	lookalike.SetLabels(map[string]string{ManagedByLabel: ManagedByValue})
	in.AuthorizationPolicies = append(in.AuthorizationPolicies, lookalike)
	plan, err := Undo(in)
	if err != nil || len(plan.Writes) != 0 {
		t.Errorf("undo of a namespace lockdown never touched: %v, writes %v", err, plan.Writes)
	}
}

func TestParseAllowFrom(t *testing.T) {
	tests := []struct {
		arg  string
		want Caller
		err  string
	}{
		{"ns/monitoring", Caller{Namespace: "monitoring", Reason: "--allow-from"}, ""},
		{"monitoring/prometheus", Caller{Namespace: "monitoring", ServiceAccount: "prometheus", Reason: "--allow-from"}, ""},
		{"monitoring", Caller{}, "write ns/NAMESPACE"},
		{"a/b/c", Caller{}, "write ns/NAMESPACE"},
		{"ns/", Caller{}, "write ns/NAMESPACE"},
		{"Bad_NS/sa", Caller{}, `"Bad_NS" is not a valid name`},
	}
	for _, tt := range tests {
		got, err := ParseAllowFrom(tt.arg)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAllowFrom(%q): want error %q, got %v", tt.arg, tt.err, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAllowFrom(%q) = %+v, %v", tt.arg, got, err)
		}
	}
}

// A gateway running in the namespace keeps taking every caller: default deny would cut the
// outside world off it.
func TestLockdownKeepsGatewaysInTheNamespaceOpen(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	gw := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-0", Namespace: "default", Labels: map[string]string{"app": "edge", "istio": "ingressgateway"}},
		Spec:       corev1.PodSpec{ServiceAccountName: "edge", Containers: []corev1.Container{{Name: "istio-proxy"}}},
	}
	in.Pods = append(in.Pods, gw)
	in.GatewayPods = append(in.GatewayPods, gw)
	plan, err := Lockdown(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var found *unstructured.Unstructured
	for _, w := range plan.Writes {
		if w.After != nil && w.After.GetName() == "kubectl-mesh-allow-edge" {
			found = w.After
		}
	}
	if found == nil {
		t.Fatalf("no ALLOW policy for the gateway workload: %v", plan.Writes)
	}
	rules, _, _ := unstructured.NestedSlice(found.Object, "spec", "rules")
	if len(rules) != 1 || len(rules[0].(map[string]any)) != 0 {
		t.Errorf("gateway policy rules = %v, want one empty rule (allow all)", rules)
	}
	// The edge gateway's own identity is also a caller of productpage.
	if got := plan.Allowed["productpage-v1"]; len(got) != 2 {
		t.Errorf("productpage callers = %v, want both gateways", got)
	}
}

func TestStatus(t *testing.T) {
	in := loadInput(t, "existing-policies", "shop")
	in.MeshPeerAuthentications = []*unstructured.Unstructured{{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
		"metadata": map[string]any{"name": "default", "namespace": RootNamespace},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "STRICT"}},
	}}}
	s := ComputeStatus(in)
	if s.MeshMTLS != "STRICT" || s.NamespaceMTLS != "PERMISSIVE" || s.LockedDown {
		t.Errorf("status header: %+v", s)
	}
	want := []WorkloadStatus{
		{Workload: "api", Pods: 1, MTLS: "PERMISSIVE", MTLSSource: "peerauthentication/shop-mtls", Authorization: "DENY rules in deny-admin; allow all (no ALLOW policy)"},
		{Workload: "worker-2.1", Pods: 1, MTLS: "PERMISSIVE", MTLSSource: "peerauthentication/shop-mtls", Authorization: "DENY rules in deny-admin; allow all (no ALLOW policy)"},
	}
	if len(s.Workloads) != len(want) {
		t.Fatalf("workloads: %+v", s.Workloads)
	}
	for i := range want {
		if s.Workloads[i] != want[i] {
			t.Errorf("workload %d: %+v, want %+v", i, s.Workloads[i], want[i])
		}
	}

	plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "shop/api")})
	if err != nil {
		t.Fatal(err)
	}
	s = ComputeStatus(applyWrites(t, in, plan))
	if !s.LockedDown || s.NamespaceMTLS != "STRICT" {
		t.Errorf("after lockdown: %+v", s)
	}
	if got := s.Workloads[0].Authorization; got != "DENY rules in deny-admin; allow from cluster.local/ns/shop/sa/api" {
		t.Errorf("api after lockdown: %q", got)
	}
}

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
	want := "default/productpage-v1 receives plaintext traffic (2.00/s) from callers without a sidecar; workloads without a sidecar that may be the callers: legacy/curl-client"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("want the plaintext caller named, got %v", err)
	}
	plan, err := Lockdown(in, Options{Observed: traffic, OutsideMesh: []string{"legacy/curl-client"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[bool]string{}
	for _, v := range plan.Observed {
		verdicts[v.MTLS] = v.Why
	}
	if verdicts[false] != "rejected: plaintext under STRICT" || verdicts[true] != "allowed: ingress gateway default/bookinfo-gateway" {
		t.Errorf("verdicts: %v", verdicts)
	}
}

func TestOutsideMesh(t *testing.T) {
	pods := []corev1.Pod{
		sidecarlessPod("legacy-a"), sidecarlessPod("legacy-b"),
		{ObjectMeta: metav1.ObjectMeta{Name: "curl", Namespace: "legacy", Labels: map[string]string{"app": "curl-client"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "curl"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: "istio-system", Labels: map[string]string{"app": "istiod"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "discovery"}}}},
	}
	if got := strings.Join(OutsideMesh(pods), ", "); got != "default/legacy, legacy/curl-client" {
		t.Errorf("OutsideMesh = %s", got)
	}
}
