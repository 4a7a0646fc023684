package istio

import "sigs.k8s.io/yaml"

// Istio's defaults for the mesh config fields we read.
const (
	DefaultRootNamespace = "istio-system"
	DefaultTrustDomain   = "cluster.local"
	// InstallNamespace is where istioctl and Helm install istiod, its mesh config (configmap
	// MeshConfigMap, key "mesh") and the addons (Prometheus, Kiali, tracing).
	InstallNamespace = "istio-system"
	MeshConfigMap    = "istio"
)

// MeshConfig is what the plugins need of Istio's mesh config.
type MeshConfig struct {
	// RootNamespace holds mesh-wide policy: its namespace-wide PeerAuthentication sets the
	// mesh's mTLS mode, its AuthorizationPolicies apply to every workload.
	RootNamespace string `json:"rootNamespace"`
	// TrustDomain is the first part of every principal: TRUSTDOMAIN/ns/NS/sa/SA.
	TrustDomain string `json:"trustDomain"`
	// HoldApplicationUntilProxyStarts is the proxies' default (defaultConfig): the app's
	// containers start once the sidecar is ready.
	HoldApplicationUntilProxyStarts bool `json:"-"`
	// MeshID is meshId, else defaultConfig.meshId; "" when neither is set (Istio then takes
	// the trust domain): the clusters of one mesh share it.
	MeshID string `json:"meshId,omitempty"`
}

// DefaultMeshConfig is what Istio assumes when the mesh config says nothing.
func DefaultMeshConfig() MeshConfig {
	return MeshConfig{RootNamespace: DefaultRootNamespace, TrustDomain: DefaultTrustDomain}
}

// ParseMeshConfig reads the YAML of the mesh config (the "mesh" key of configmap istio);
// fields it does not set keep Istio's defaults.
func ParseMeshConfig(data string) (MeshConfig, error) {
	var parsed struct {
		MeshConfig    `json:",inline"`
		DefaultConfig struct {
			Hold   bool   `json:"holdApplicationUntilProxyStarts"`
			MeshID string `json:"meshId"`
		} `json:"defaultConfig"`
	}
	if err := yaml.Unmarshal([]byte(data), &parsed); err != nil {
		return DefaultMeshConfig(), err
	}
	mc := DefaultMeshConfig()
	mc.HoldApplicationUntilProxyStarts = parsed.DefaultConfig.Hold
	if parsed.RootNamespace != "" {
		mc.RootNamespace = parsed.RootNamespace
	}
	if parsed.TrustDomain != "" {
		mc.TrustDomain = parsed.TrustDomain
	}
	mc.MeshID = parsed.MeshID
	if mc.MeshID == "" {
		mc.MeshID = parsed.DefaultConfig.MeshID
	}
	return mc, nil
}

// Principal is the identity of a service account as AuthorizationPolicies write it (the
// SPIFFE ID without spiffe://).
func (mc MeshConfig) Principal(namespace, serviceAccount string) string {
	return mc.TrustDomain + "/ns/" + namespace + "/sa/" + serviceAccount
}
