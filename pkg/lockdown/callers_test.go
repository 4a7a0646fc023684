package lockdown

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

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
		Spec:       corev1.PodSpec{ServiceAccountName: "edge", Containers: []corev1.Container{{Name: "istio-proxy", Args: []string{"proxy", "router"}}}},
	}
	in.Pods = append(in.Pods, gw)
	in.GatewayPods = append(in.GatewayPods, gw)
	plan, err := Lockdown(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var found *unstructured.Unstructured
	for _, w := range plan.Changes {
		if w.After != nil && w.After.GetName() == "kubectl-mesh-allow-edge" {
			found = w.After
		}
	}
	if found == nil {
		t.Fatalf("no ALLOW policy for the gateway workload: %v", plan.Changes)
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
