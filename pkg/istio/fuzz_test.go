package istio

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func FuzzParseService(f *testing.F) {
	for _, seed := range []string{"reviews", "reviews.default", "reviews.default.svc", "reviews.default.svc.cluster.local", "a..b", ".", "", "UPPER.case", "reviews.default.svc.x.y.z"} {
		f.Add(seed, "default")
	}
	f.Fuzz(func(t *testing.T, arg, namespace string) {
		svc, _, ok := ParseService(arg, namespace)
		if ok && (svc.Name == "" || svc.Namespace == "" && namespace != "") {
			t.Errorf("ParseService(%q, %q) = %+v: a service without a name or namespace", arg, namespace, svc)
		}
	})
}

func FuzzParseMeshConfig(f *testing.F) {
	f.Add("rootNamespace: istio-config\ntrustDomain: example.org\n")
	f.Add("defaultConfig: {}\n")
	f.Add("rootNamespace: [1, 2]\n")
	f.Add("\t:")
	f.Fuzz(func(t *testing.T, data string) {
		_, _ = ParseMeshConfig(data)
	})
}

// Effective mTLS over PeerAuthentications of any shape: an answer, never a panic.
func FuzzEffectiveMTLS(f *testing.F) {
	f.Add([]byte(`{"mtls":{"mode":"STRICT"}}`), []byte(`{"selector":{"matchLabels":{"app":"reviews"}},"portLevelMtls":{"9080":{"mode":"PERMISSIVE"}}}`))
	f.Add([]byte(`{"mtls":7}`), []byte(`{"selector":{"matchLabels":[]},"portLevelMtls":{"x":{"mode":{}}}}`))
	f.Fuzz(func(t *testing.T, namespaceWide, workload []byte) {
		var pas []*unstructured.Unstructured
		for i, raw := range [][]byte{namespaceWide, workload} {
			var spec any
			if json.Unmarshal(raw, &spec) != nil {
				continue
			}
			pas = append(pas, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
				"metadata": map[string]any{"name": []string{"default", "reviews"}[i], "namespace": "default"},
				"spec":     spec,
			}})
		}
		_ = EffectiveMTLS(pas, DefaultRootNamespace, "default", map[string]string{"app": "reviews"})
	})
}

// The evaluator of AuthorizationPolicies over policies of any shape (drawn from data, plus one
// whose spec is the JSON extra) and any request: an answer at every point, never a panic, and
// the invariants lockdown's proof rests on (authorizerCheck.check).
func FuzzAuthorizer(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, []byte(`{"rules":[{"from":[{"source":{"principals":["*"]}}]}]}`))
	f.Add([]byte{3, 7, 1, 0, 4, 4, 9, 2, 5, 3, 3, 1, 7, 2}, []byte(`{"action":"DENY","rules":[{"to":[{"operation":{"methods":["POST"]}}]}]}`))
	f.Add([]byte("policies of every shape, requests of every kind"), []byte(`{"targetRefs":[{"kind":"Service","name":"reviews"}],"rules":[{}]}`))
	f.Add([]byte{}, []byte(`{"rules":[null,{"when":[{"key":"request.headers[x]","values":[1]}]}],"selector":[]}`))
	f.Fuzz(func(t *testing.T, data, extra []byte) {
		c := drawCheck(data, extra)
		for _, p := range fuzzPoints {
			c.check(t, p)
		}
	})
}
