package istio

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// peerAuth is a PeerAuthentication created `age` seconds after epoch. ports maps a port to
// its mode ("" for UNSET).
func peerAuth(namespace, name string, age int, mode string, selector map[string]string, ports map[int]string) *unstructured.Unstructured {
	spec := map[string]any{}
	if mode != "" {
		spec["mtls"] = map[string]any{"mode": mode}
	}
	if selector != nil {
		labels := map[string]any{}
		for k, v := range selector {
			labels[k] = v
		}
		spec["selector"] = map[string]any{"matchLabels": labels}
	}
	if ports != nil {
		levels := map[string]any{}
		for p, m := range ports {
			levels[fmt.Sprint(p)] = map[string]any{"mode": m}
		}
		spec["portLevelMtls"] = levels
	}
	pa := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     spec,
	}}
	pa.SetCreationTimestamp(metav1.NewTime(epoch.Add(time.Duration(age) * time.Second)))
	return pa
}

func TestEffectiveMTLS(t *testing.T) {
	app := map[string]string{"app": "reviews", "version": "v1"}
	sel := map[string]string{"app": "reviews"}
	tests := []struct {
		name       string
		pas        []*unstructured.Unstructured
		namespace  string
		wantMode   string
		wantPolicy string // namespace/name, "" for Istio's default
		wantString string
	}{
		{"nothing set: PERMISSIVE by default", nil, "shop", ModePermissive, "", "PERMISSIVE"},
		{"mesh STRICT", []*unstructured.Unstructured{peerAuth("istio-system", "default", 0, ModeStrict, nil, nil)}, "shop", ModeStrict, "istio-system/default", "STRICT"},
		{"namespace overrides mesh", []*unstructured.Unstructured{
			peerAuth("istio-system", "default", 0, ModeStrict, nil, nil),
			peerAuth("shop", "ns", 0, ModePermissive, nil, nil),
		}, "shop", ModePermissive, "shop/ns", "PERMISSIVE"},
		{"UNSET namespace inherits the mesh", []*unstructured.Unstructured{
			peerAuth("istio-system", "default", 0, ModeStrict, nil, nil),
			peerAuth("shop", "ns", 0, "", nil, nil),
		}, "shop", ModeStrict, "istio-system/default", "STRICT"},
		{"oldest namespace-wide policy wins, whatever the list order", []*unstructured.Unstructured{
			peerAuth("shop", "newer", 10, ModeDisable, nil, nil),
			peerAuth("shop", "older", 5, ModeStrict, nil, nil),
		}, "shop", ModeStrict, "shop/older", "STRICT"},
		{"oldest workload policy wins, whatever the list order", []*unstructured.Unstructured{
			peerAuth("shop", "b-newer", 10, ModePermissive, sel, nil),
			peerAuth("shop", "z-older", 5, ModeStrict, app, nil),
		}, "shop", ModeStrict, "shop/z-older", "STRICT"},
		{"same second: the name decides", []*unstructured.Unstructured{
			peerAuth("shop", "b", 5, ModePermissive, sel, nil),
			peerAuth("shop", "a", 5, ModeStrict, sel, nil),
		}, "shop", ModeStrict, "shop/a", "STRICT"},
		{"workload policy of another app does not count", []*unstructured.Unstructured{
			peerAuth("shop", "ratings", 0, ModeDisable, map[string]string{"app": "ratings"}, nil),
		}, "shop", ModePermissive, "", "PERMISSIVE"},
		{"selector policies in the root namespace count for no one", []*unstructured.Unstructured{
			peerAuth("istio-system", "reviews", 0, ModeDisable, sel, nil),
		}, "shop", ModePermissive, "", "PERMISSIVE"},
		{"another namespace's policies do not count", []*unstructured.Unstructured{
			peerAuth("other", "default", 0, ModeStrict, nil, nil),
		}, "shop", ModePermissive, "", "PERMISSIVE"},
		{"port exceptions of the workload policy, UNSET ports inheriting", []*unstructured.Unstructured{
			peerAuth("shop", "ns", 0, ModeStrict, nil, nil),
			peerAuth("shop", "metrics", 0, "", sel, map[int]string{8080: ModePermissive, 9090: ModeUnset}),
		}, "shop", ModeStrict, "shop/ns", "STRICT (port 8080: PERMISSIVE)"},
		{"in the root namespace, its namespace-wide policy is the mesh's", []*unstructured.Unstructured{
			peerAuth("istio-system", "default", 0, ModeStrict, nil, nil),
		}, "istio-system", ModeStrict, "istio-system/default", "STRICT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := EffectiveMTLS(tt.pas, "istio-system", tt.namespace, app)
			policy := ""
			if m.Policy != nil {
				policy = m.Policy.GetNamespace() + "/" + m.Policy.GetName()
			}
			if m.Mode != tt.wantMode || policy != tt.wantPolicy || m.String() != tt.wantString {
				t.Errorf("got %s from %q (%s), want %s from %q (%s)", m.Mode, policy, m, tt.wantMode, tt.wantPolicy, tt.wantString)
			}
		})
	}
}

func TestMTLSEverywhereAndAnywhere(t *testing.T) {
	m := MTLS{Mode: ModeStrict, Ports: map[uint32]string{8080: ModePermissive, 9090: ModeStrict}}
	if m.Everywhere(ModeStrict) || !m.Anywhere(ModePermissive) || m.Anywhere(ModeDisable) {
		t.Errorf("%s: Everywhere(STRICT)=%t Anywhere(PERMISSIVE)=%t Anywhere(DISABLE)=%t", m, m.Everywhere(ModeStrict), m.Anywhere(ModePermissive), m.Anywhere(ModeDisable))
	}
	if !(MTLS{Mode: ModeStrict}).Everywhere(ModeStrict) {
		t.Error("STRICT without exceptions is not STRICT everywhere")
	}
}

func TestNamespaceWidePeerAuthentications(t *testing.T) {
	pas := []*unstructured.Unstructured{
		peerAuth("shop", "newer", 10, ModeStrict, nil, nil),
		peerAuth("shop", "workload", 0, ModeStrict, map[string]string{"app": "x"}, nil),
		peerAuth("shop", "older", 5, ModePermissive, nil, nil),
		peerAuth("other", "oldest", 0, ModePermissive, nil, nil),
	}
	wide := NamespaceWidePeerAuthentications(pas, "shop")
	if len(wide) != 2 || wide[0].GetName() != "older" || wide[1].GetName() != "newer" {
		t.Errorf("namespace-wide of shop: %v", names(wide))
	}
}

func names(objects []*unstructured.Unstructured) []string {
	out := make([]string, len(objects))
	for i, o := range objects {
		out[i] = o.GetName()
	}
	return out
}
