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
