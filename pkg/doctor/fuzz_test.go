package doctor

import (
	"encoding/json"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Doctor over Deployments, budgets, policies, DestinationRules and StatefulSets of any shape
// the API server could hold (their specs are not all validated): findings, never a panic.
func FuzzCheckOverAnyObjects(f *testing.F) {
	f.Add([]byte(`{"replicas":1,"template":{"spec":{"containers":[{"name":"discovery","image":"pilot:1.2"}]}}}`), []byte(`{"selector":{"matchLabels":{"app":"istiod"}}}`),
		[]byte(`{"mtls":{"mode":"DISABLE"},"portLevelMtls":{"80":{"mode":"DISABLE"}}}`), []byte(`{"host":"x","trafficPolicy":{"tls":{"mode":"DISABLE"}}}`))
	f.Add([]byte(`{"replicas":"two","template":{"spec":{"containers":"none"}}}`), []byte(`{"selector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]}}`),
		[]byte(`{"mtls":"STRICT","portLevelMtls":[]}`), []byte(`{"subsets":[{"trafficPolicy":{"portLevelSettings":[{"tls":7}]}}]}`))
	f.Add([]byte(`null`), []byte(`{"selector":null}`), []byte(`[]`), []byte(`{"trafficPolicy":"none"}`))
	data, err := os.ReadFile("testdata/cluster.in.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, deploymentSpec, budgetSpec, policySpec, ruleSpec []byte) {
		in := inputOf(t, string(data))
		add := func(into *[]*unstructured.Unstructured, apiVersion, kind, namespace string, labels map[string]any, raw []byte) {
			var spec any
			if json.Unmarshal(raw, &spec) != nil {
				return
			}
			*into = append(*into, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": apiVersion, "kind": kind,
				"metadata": map[string]any{"name": "fuzzed", "namespace": namespace, "labels": labels},
				"spec":     spec, "status": spec,
			}})
		}
		add(&in.ControlPlane, "apps/v1", "Deployment", "istio-system", map[string]any{"app": "istiod"}, deploymentSpec)
		add(&in.ControlPlane, "apps/v1", "Deployment", "istio-ingress", map[string]any{"istio": "ingressgateway"}, deploymentSpec)
		add(&in.StatefulSets, "apps/v1", "StatefulSet", "bookinfo", nil, deploymentSpec)
		add(&in.DisruptionBudgets, "policy/v1", "PodDisruptionBudget", "istio-system", nil, budgetSpec)
		add(&in.PeerAuthentications, "security.istio.io/v1", "PeerAuthentication", "bookinfo", nil, policySpec)
		add(&in.DestinationRules, "networking.istio.io/v1", "DestinationRule", "bookinfo", nil, ruleSpec)
		for _, f := range Check(in) {
			if f.Severity.Rank() < 0 || f.Object.Name == "" || f.Why == "" || f.Fix == "" {
				t.Errorf("incomplete finding %+v", f)
			}
		}
	})
}
