package why

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Explain over routes and policies of any shape the API server could hold: a report with a
// verdict, never a panic.
func FuzzExplainOverAnyObjects(f *testing.F) {
	f.Add([]byte(`{"hosts":["reviews"],"http":[{"route":[{"destination":{"host":"reviews","subset":"v1"},"weight":0}]}]}`), []byte(`{"parentRefs":[{"group":"","kind":"Service","name":"reviews"}],"rules":[{"backendRefs":[]}]}`), []byte(`{"action":"DENY","rules":[{}]}`))
	f.Add([]byte(`{"hosts":["reviews"],"http":[{"match":[{"uri":{"regex":"("}}]}]}`), []byte(`{"parentRefs":"x"}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, vsSpec, routeSpec, apSpec []byte) {
		in := bookinfo(t, false)
		add := func(into *[]*unstructured.Unstructured, apiVersion, kind string, raw []byte) {
			var spec any
			if json.Unmarshal(raw, &spec) != nil {
				return
			}
			*into = append(*into, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": apiVersion, "kind": kind,
				"metadata": map[string]any{"name": "fuzzed", "namespace": "shop"}, "spec": spec,
			}})
		}
		add(&in.VirtualServices, "networking.istio.io/v1", "VirtualService", vsSpec)
		add(&in.Routes, "gateway.networking.k8s.io/v1", "HTTPRoute", routeSpec)
		add(&in.AuthorizationPolicies, "security.istio.io/v1", "AuthorizationPolicy", apSpec)
		r := Explain(in)
		if r.Verdict != Allowed && r.Verdict != Denied && r.Verdict != Unroutable {
			t.Errorf("verdict %q", r.Verdict)
		}
		var text strings.Builder
		if err := WriteText(&text, r, in.Request); err != nil {
			t.Fatal(err)
		}
	})
}
