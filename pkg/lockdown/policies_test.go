package lockdown

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

func TestLockdownRefuses(t *testing.T) {
	foreign := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
			"metadata": map[string]any{"name": name, "namespace": "default", "labels": map[string]any{istio.ManagedByLabel: istio.ManagedByValue}},
			"spec":     map[string]any{},
		}}
	}
	tests := []struct {
		name   string
		mutate func(*Input)
		want   string
	}{
		{"root namespace", func(in *Input) { in.Namespace = istio.DefaultRootNamespace }, "Istio's root namespace"},
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
