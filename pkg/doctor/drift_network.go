package doctor

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Where Istio reads a cluster's network, and what marks an east-west gateway.
const (
	// NetworkLabel on istiod's namespace names the cluster's network (else istiod's NETWORK).
	NetworkLabel = "topology.istio.io/network"
	// EastWestLabel is on the Deployment and Service of an east-west gateway as Istio's
	// samples (gen-eastwest-gateway.sh) install it.
	EastWestLabel = "istio=eastwestgateway"
	// crossNetworkPort is the port east-west gateways pass mTLS through on (AUTO_PASSTHROUGH).
	crossNetworkPort = 15443
)

// eastWestClasses are the Gateway API classes of a gateway between networks.
var eastWestClasses = []string{"istio-east-west", "istio-remote"}

// networkDrift: clusters on different networks reach each other only through east-west
// gateways, so where networks differ every cluster needs one.
func networkDrift(clusters []ClusterInput) []Finding {
	networks := variantsOf(clusters, func(c ClusterInput) (string, bool) { return networkOf(c.Input) })
	if len(networks) < 2 {
		return nil
	}
	severity, unset := Info, ""
	if slices.ContainsFunc(networks, func(v variant) bool { return v.value == "" }) {
		severity, unset = Warning, "; a cluster without a network is taken to share every other's, so its endpoints are dialled directly"
	}
	findings := []Finding{{Severity: severity, Check: CheckDriftNetwork, Object: Object{Kind: "Namespace", Name: istio.InstallNamespace}, Clusters: allOf(networks),
		Why: fmt.Sprintf("networks differ: %s; traffic between them must cross east-west gateways%s", describe(networks), unset),
		Fix: fmt.Sprintf("if the clusters share a network, label %s alike in each (kubectl --context CTX label namespace %s %s=NETWORK); else give each an east-west gateway", istio.InstallNamespace, istio.InstallNamespace, NetworkLabel)}}
	for _, c := range clusters {
		if has, known := hasEastWestGateway(c); known && !has {
			findings = append(findings, Finding{Severity: Error, Check: CheckEastWest, Object: Object{Kind: "Gateway", Namespace: istio.InstallNamespace, Name: "istio-eastwestgateway"}, Clusters: []Cluster{c.Cluster},
				Why: fmt.Sprintf("%s is on a network of its own and has no east-west gateway (%s Deployment or Service, a Gateway of class istio-east-west, or a Gateway on port %d with tls AUTO_PASSTHROUGH): the other networks cannot reach its workloads", c.Cluster, EastWestLabel, crossNetworkPort),
				Fix: fmt.Sprintf("install one as Istio's multi-network guide does (samples/multicluster/gen-eastwest-gateway.sh --network NETWORK | istioctl install --context %s -f -) and expose its services (samples/multicluster/expose-services.yaml)", c.Cluster.Context)})
		}
	}
	return findings
}

// networkOf is the cluster's network: the label on istiod's namespace, else istiod's NETWORK
// environment variable, else "" (none); false when neither could be read.
func networkOf(in Input) (string, bool) {
	for _, ns := range in.Namespaces {
		if ns.Name == istio.InstallNamespace && ns.Labels[NetworkLabel] != "" {
			return ns.Labels[NetworkLabel], true
		}
	}
	for _, d := range controlPlane(in, isIstiod) {
		if network := istiodEnv(d, "NETWORK"); network != "" {
			return network, true
		}
	}
	return "", !in.Unknown["namespaces"] && !in.Unknown[ControlPlaneReads]
}

// hasEastWestGateway tells whether the cluster runs a gateway between networks; known is
// false when what would show one could not be read.
func hasEastWestGateway(c ClusterInput) (has, known bool) {
	if len(c.Drift.EastWest) > 0 {
		return true, true
	}
	for _, gw := range c.Drift.Gateways {
		if slices.Contains(eastWestClasses, istio.GatewayClass(gw)) {
			return true, true
		}
	}
	if slices.ContainsFunc(c.Drift.IstioGateways, passesThroughCrossNetwork) {
		return true, true
	}
	return false, !c.Input.Unknown[EastWestReads] && !c.Input.Unknown[GatewayReads]
}

// passesThroughCrossNetwork: an Istio Gateway with a server on port 15443 in tls mode
// AUTO_PASSTHROUGH, what expose-services.yaml writes.
func passesThroughCrossNetwork(gw *unstructured.Unstructured) bool {
	servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
	for _, s := range servers {
		server, _ := s.(map[string]any)
		port, _, _ := unstructured.NestedFieldNoCopy(server, "port", "number")
		mode, _, _ := unstructured.NestedString(server, "tls", "mode")
		if number, ok := asInt(port); ok && number == crossNetworkPort && mode == "AUTO_PASSTHROUGH" {
			return true
		}
	}
	return false
}

// asInt reads a number of an unstructured object, whichever way it was decoded.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
