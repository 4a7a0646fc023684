package lockdown

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
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
		{Workload: "api", Pods: 1, MTLS: "PERMISSIVE (port 8081: DISABLE)", MTLSSource: "peerauthentication/shop-mtls", Dataplane: "sidecar", Authorization: "DENY rules in deny-admin; allow all (no ALLOW policy)"},
		{Workload: "worker-2.1", Pods: 1, MTLS: "PERMISSIVE", MTLSSource: "peerauthentication/shop-mtls", Dataplane: "sidecar", Authorization: "DENY rules in deny-admin; allow all (no ALLOW policy)"},
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

// The status reads policy as Istio applies it: the root namespace's AuthorizationPolicies
// apply to every workload, and existing ALLOW policies that admit callers wholesale are named.
func TestStatusReadsMeshWidePolicies(t *testing.T) {
	in := loadInput(t, "istio-rules", "shop")
	in.MeshAuthorizationPolicies = append(in.MeshAuthorizationPolicies, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": "allow-nothing", "namespace": istio.DefaultRootNamespace},
		"spec":     map[string]any{},
	}})
	plan, err := Lockdown(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := ComputeStatus(applyWrites(t, in, plan))
	byName := map[string]WorkloadStatus{}
	for _, w := range s.Workloads {
		byName[w.Workload] = w
	}
	if len(byName) != 4 {
		t.Fatalf("workloads %+v, want api-v1, shop-gw, web-blue, web-green", s.Workloads)
	}
	if got := byName["web-blue"].Authorization; got != "DENY rules in istio-system/deny-debug; deny all (no ALLOW rule matches)" {
		t.Errorf("web-blue: %q", got)
	}
	// The mesh-wide ALLOW-nothing policy already decides for every workload: lockdown adds
	// no ALLOW policy beside it (that would widen it), so web-green stays denied, and says why.
	if got := byName["web-green"].Authorization; got != "DENY rules in istio-system/deny-debug; deny all (no ALLOW rule matches)" {
		t.Errorf("web-green: %q", got)
	}
	if kept := plan.Kept["web-green"]; len(kept) == 0 || !slices.Contains(kept, "istio-system/allow-nothing") {
		t.Errorf("web-green kept %q, want istio-system/allow-nothing named", kept)
	}
	if len(s.MeshPolicies) != 2 || s.MeshPolicies[0] != "DENY rules (authorizationpolicy istio-system/deny-debug)" || !strings.HasPrefix(s.MeshPolicies[1], "ALLOW nothing") {
		t.Errorf("mesh policies %q: the root namespace's DENY and allow-nothing apply namespace-wide", s.MeshPolicies)
	}
	if len(s.Openings) != 1 || s.Openings[0].String() != "authorizationpolicy/partners-to-api admits every workload of namespace partners to api-v1" {
		t.Errorf("openings %+v", s.Openings)
	}
	var out strings.Builder
	if err := WriteStatus(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  mesh policy:    ALLOW nothing: every request is denied unless another ALLOW policy admits it (authorizationpolicy istio-system/allow-nothing)\n",
		"  locked down:    yes (authorizationpolicy/kubectl-mesh-default-deny), but existing ALLOW policies still admit callers wholesale:\n    authorizationpolicy/partners-to-api admits every workload of namespace partners to api-v1\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// In ambient mode the status names each workload's data plane, with its waypoint.
func TestStatusNamesTheDataplane(t *testing.T) {
	in := loadInput(t, "ambient", "amb")
	in.Pods = append(in.Pods, sidecarlessPod("legacy-0"))
	in.Pods[len(in.Pods)-1].Namespace = "amb"
	in.Pods[len(in.Pods)-1].Labels = map[string]string{"app": "legacy", "istio.io/dataplane-mode": "none"}
	s := ComputeStatus(in)
	got := map[string]string{}
	for _, w := range s.Workloads {
		got[w.Workload] = w.Dataplane
	}
	want := map[string]string{
		"bookinfo-gateway": "sidecar", "details-v1": "ambient", "productpage-v1": "ambient", "legacy": "none",
		"reviews-v1": "ambient + waypoint amb/waypoint", "reviews-v2": "ambient + waypoint amb/waypoint",
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("data planes %v, want %v (the waypoint itself is no workload)", got, want)
	}
}
