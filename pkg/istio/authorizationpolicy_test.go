package istio

import (
	"slices"
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

func TestOpenings(t *testing.T) {
	rules := func(r ...any) map[string]any { return map[string]any{"action": "ALLOW", "rules": r} }
	source := func(s map[string]any) map[string]any {
		return map[string]any{"from": []any{map[string]any{"source": s}}}
	}
	tests := []struct {
		name string
		spec map[string]any
		want []string
	}{
		{"allow nothing", map[string]any{}, nil},
		{"empty rule", rules(map[string]any{}), []string{"every request"}},
		{"rule without from", rules(map[string]any{"to": []any{map[string]any{"operation": map[string]any{"methods": []any{"GET"}}}}}), []string{"any caller (for the requests its rule matches)"}},
		{"exact principals", rules(source(map[string]any{"principals": []any{"cluster.local/ns/a/sa/b"}})), nil},
		{"exact principal in a namespace", rules(source(map[string]any{"principals": []any{"cluster.local/ns/a/sa/b"}, "namespaces": []any{"a"}})), nil},
		{"namespace", rules(source(map[string]any{"namespaces": []any{"shop"}})), []string{"every workload of namespace shop"}},
		{"wildcard principal", rules(source(map[string]any{"principals": []any{"*"}})), []string{"principals matching *"}},
		{"ip blocks", rules(source(map[string]any{"ipBlocks": []any{"10.0.0.0/8"}})), []string{"callers from 10.0.0.0/8"}},
		{"DENY is no opening", map[string]any{"action": "DENY", "rules": []any{map[string]any{}}}, nil},
	}
	for _, tt := range tests {
		got := Openings(authz("shop", "p", tt.spec))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestL7Fields(t *testing.T) {
	l7 := authz("shop", "p", map[string]any{"rules": []any{map[string]any{
		"from": []any{map[string]any{"source": map[string]any{"principals": []any{"a"}, "requestPrincipals": []any{"*"}}}},
		"to":   []any{map[string]any{"operation": map[string]any{"methods": []any{"GET"}, "ports": []any{"8080"}}}},
		"when": []any{map[string]any{"key": "request.headers[x-user]", "values": []any{"a"}}, map[string]any{"key": "source.ip", "values": []any{"10.0.0.1"}}},
	}}})
	if got := L7Fields(l7); !slices.Equal(got, []string{"requestPrincipals", "methods", "when request.headers[x-user]"}) {
		t.Errorf("L7Fields = %q", got)
	}
	l4 := authz("shop", "p", map[string]any{"rules": []any{map[string]any{
		"from": []any{map[string]any{"source": map[string]any{"principals": []any{"a"}, "namespaces": []any{"b"}}}},
		"to":   []any{map[string]any{"operation": map[string]any{"ports": []any{"8080"}}}},
	}}})
	if got := L7Fields(l4); len(got) != 0 {
		t.Errorf("an L4 policy has L7 fields %q", got)
	}
}
