package lockdown

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

func TestLockdownRefuses(t *testing.T) {
	// A DENY policy without rules denies nothing: it leaves lockdown's plan as it is, and
	// only its name is in the way.
	foreign := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
			"metadata": map[string]any{"name": name, "namespace": "default", "labels": map[string]any{istio.ManagedByLabel: istio.ManagedByValue}},
			"spec":     map[string]any{"action": "DENY"},
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

// An existing PeerAuthentication a GitOps tool applies is left alone, unless --force.
func TestLockdownLeavesPolicyGitOpsApplies(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	in.PeerAuthentications = append(in.PeerAuthentications, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
		"metadata": map[string]any{"name": "default", "namespace": "default", "labels": map[string]any{"kustomize.toolkit.fluxcd.io/name": "mesh"}},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "PERMISSIVE"}},
	}})
	_, err := Lockdown(in, Options{})
	if err == nil || !strings.Contains(err.Error(), "PeerAuthentication default/default is applied by Flux Kustomization mesh") {
		t.Errorf("error %v", err)
	}
	plan, err := Lockdown(in, Options{Force: true})
	if err != nil || !strings.Contains(strings.Join(plan.Warnings, "\n"), "its next sync will revert this change") {
		t.Errorf("--force: %v, %+v", err, plan)
	}
}
