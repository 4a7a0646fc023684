package lockdown

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

func TestStatus(t *testing.T) {
	in := loadInput(t, "existing-policies", "shop")
	in.MeshPeerAuthentications = []*unstructured.Unstructured{{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
		"metadata": map[string]any{"name": "default", "namespace": istio.DefaultRootNamespace},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "STRICT"}},
	}}}
	s := ComputeStatus(in)
	if s.MeshMTLS != "STRICT" || s.NamespaceMTLS != "PERMISSIVE" || s.LockedDown {
		t.Errorf("status header: %+v", s)
	}
	want := []WorkloadStatus{
		{Workload: "api", Pods: 1, MTLS: "PERMISSIVE (port 8081: DISABLE)", MTLSSource: "peerauthentication/shop-mtls", Authorization: "DENY rules in deny-admin; allow all (no ALLOW policy)"},
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
