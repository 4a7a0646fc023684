package istio

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func authz(namespace, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     spec,
	}}
}

func TestPolicyApplies(t *testing.T) {
	labels := map[string]string{"app": "reviews", "version": "v1"}
	selector := func(app string) map[string]any {
		return map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": app}}}
	}
	tests := []struct {
		name string
		ap   *unstructured.Unstructured
		want bool
	}{
		{"namespace-wide in the workload's namespace", authz("shop", "deny-all", map[string]any{}), true},
		{"selector picks the workload", authz("shop", "reviews", selector("reviews")), true},
		{"selector picks another workload", authz("shop", "ratings", selector("ratings")), false},
		{"root namespace applies mesh-wide", authz("istio-system", "mesh", map[string]any{}), true},
		{"root namespace selector applies in every namespace", authz("istio-system", "mesh-reviews", selector("reviews")), true},
		{"another namespace does not apply", authz("other", "deny-all", map[string]any{}), false},
		{"targetRefs are for gateways and waypoints", authz("shop", "waypoint", map[string]any{
			"targetRefs": []any{map[string]any{"kind": "Service", "group": "", "name": "reviews"}},
		}), false},
	}
	for _, tt := range tests {
		if got := PolicyApplies(tt.ap, "istio-system", "shop", labels); got != tt.want {
			t.Errorf("%s: applies = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func TestAction(t *testing.T) {
	if got := Action(authz("shop", "x", map[string]any{})); got != ActionAllow {
		t.Errorf("no action: %s, want ALLOW", got)
	}
	if got := Action(authz("shop", "x", map[string]any{"action": "DENY"})); got != ActionDeny {
		t.Errorf("DENY: %s", got)
	}
}
