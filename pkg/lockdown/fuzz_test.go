package lockdown

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func FuzzParseAllowFrom(f *testing.F) {
	for _, seed := range []string{"ns/default", "sa/default/bookinfo-productpage", "principal/cluster.local/ns/x/sa/y", "ns/", "sa/a", "", "///", "ns/UPPER", "principal/*"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		c, err := ParseAllowFrom(arg)
		if err == nil && c.String() == "" {
			t.Errorf("ParseAllowFrom(%q) accepted a caller that names no one", arg)
		}
	})
}

// Lockdown, its undo and its status over policies and routes of any shape the API server
// could hold: a plan or an error, never a panic; and a plan never lets through, at any
// workload, a request the policies in force deny today.
func FuzzLockdownOverAnyPolicies(f *testing.F) {
	f.Add([]byte(`{"mtls":{"mode":"STRICT"},"portLevelMtls":{"9080":{"mode":"DISABLE"}}}`), []byte(`{"action":"ALLOW","rules":[{"from":[{"source":{"namespaces":["x"]}}]}]}`), []byte(`{"hosts":["reviews"],"gateways":["bookinfo-gateway"],"http":[{"route":[{"destination":{"host":"reviews"}}]}]}`))
	f.Add([]byte(`{"selector":{"matchLabels":{"app":7}},"mtls":"STRICT"}`), []byte(`{"action":"DENY","targetRefs":[{"kind":"Service","name":1}]}`), []byte(`{"http":"nope","delegate":{"name":[]}}`))
	f.Add([]byte(`null`), []byte(`[]`), []byte(`{"tcp":[{"route":[{"destination":{"host":{}}}]}]}`))
	f.Fuzz(func(t *testing.T, paSpec, apSpec, vsSpec []byte) {
		in := loadInput(t, "bookinfo", "default")
		add := func(into *[]*unstructured.Unstructured, apiVersion, kind string, raw []byte) {
			var spec any
			if json.Unmarshal(raw, &spec) != nil {
				return
			}
			*into = append(*into, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": apiVersion, "kind": kind,
				"metadata": map[string]any{"name": "fuzzed", "namespace": "default"},
				"spec":     spec,
			}})
		}
		add(&in.PeerAuthentications, "security.istio.io/v1", "PeerAuthentication", paSpec)
		add(&in.MeshPeerAuthentications, "security.istio.io/v1", "PeerAuthentication", paSpec)
		add(&in.AuthorizationPolicies, "security.istio.io/v1", "AuthorizationPolicy", apSpec)
		add(&in.VirtualServices, "networking.istio.io/v1", "VirtualService", vsSpec)
		add(&in.Routes, "gateway.networking.k8s.io/v1", "HTTPRoute", vsSpec)
		if plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "ns/default")}); err == nil {
			assertNoWidening(t, in, plan)
		}
		_, _ = Undo(in)
		_ = ComputeStatus(in)
	})
}
