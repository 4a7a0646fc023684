package doctor

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Drift between two clusters whose routes, policies, gateways and istiod are of any shape the
// API server could hold: every finding complete and naming its clusters, never a panic.
func FuzzDriftOverAnyObjects(f *testing.F) {
	f.Add([]byte(`{"http":[{"route":[{"weight":90}]}]}`), []byte(`{"http":[{"route":[{"weight":"x"}]}]}`), []byte(`{"servers":[{"port":{"number":15443},"tls":{"mode":"AUTO_PASSTHROUGH"}}]}`), []byte(`{"action":"ALLOW"}`))
	f.Add([]byte(`null`), []byte(`[]`), []byte(`{"servers":"none"}`), []byte(`{"rules":7}`))
	f.Add([]byte(`{"template":{"spec":{"containers":[{"name":"discovery","image":"pilot:1.2","env":[{"name":"NETWORK","value":"n1"}]}]}}}`), []byte(`{"gatewayClassName":"istio-waypoint"}`), []byte(`{"gatewayClassName":7}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, eastSpec, westSpec, gatewaySpec, policySpec []byte) {
		var clusters []ClusterInput
		for i, spec := range [][]byte{eastSpec, westSpec} {
			c := clusterOf(t, []string{"cluster-east", "cluster-west"}[i], namespace("shop", ""), namespace("istio-system", ""))
			add := func(into *[]*unstructured.Unstructured, apiVersion, kind, namespace string, labels map[string]any, raw []byte) {
				var value any
				if json.Unmarshal(raw, &value) != nil {
					return
				}
				*into = append(*into, &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": apiVersion, "kind": kind,
					"metadata": map[string]any{"name": "fuzzed", "namespace": namespace, "labels": labels},
					"spec":     value,
				}})
			}
			add(&c.Drift.VirtualServices, "networking.istio.io/v1", "VirtualService", "shop", nil, spec)
			add(&c.Input.DestinationRules, "networking.istio.io/v1", "DestinationRule", "shop", nil, spec)
			add(&c.Drift.HTTPRoutes, "gateway.networking.k8s.io/v1", "HTTPRoute", "shop", nil, spec)
			add(&c.Input.ControlPlane, "apps/v1", "Deployment", "istio-system", map[string]any{"app": "istiod"}, spec)
			add(&c.Drift.IstioGateways, "networking.istio.io/v1", "Gateway", "istio-system", nil, gatewaySpec)
			add(&c.Drift.Gateways, "gateway.networking.k8s.io/v1", "Gateway", "shop", nil, gatewaySpec)
			add(&c.Drift.AuthorizationPolicies, "security.istio.io/v1", "AuthorizationPolicy", "shop", nil, policySpec)
			add(&c.Input.PeerAuthentications, "security.istio.io/v1", "PeerAuthentication", "shop", nil, policySpec)
			clusters = append(clusters, c)
		}
		for _, f := range CheckClusters(clusters) {
			if f.Severity.Rank() < 0 || f.Object.Name == "" || f.Why == "" || f.Fix == "" || len(f.Clusters) == 0 {
				t.Errorf("incomplete finding %+v", f)
			}
		}
	})
}
