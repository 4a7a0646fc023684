package doctor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Cluster names one cluster of a mesh in a finding: its ID and the context it was reached by.
type Cluster = istio.Cluster

// DriftInput is what the drift checks read of a cluster besides Input: its routes and
// AuthorizationPolicies in scope, and, everywhere, what makes an east-west gateway or a
// waypoint. Unreadable kinds are named in the cluster's Input.Unknown.
type DriftInput struct {
	VirtualServices       []*unstructured.Unstructured
	HTTPRoutes            []*unstructured.Unstructured
	AuthorizationPolicies []*unstructured.Unstructured
	Gateways              []*unstructured.Unstructured // Gateway API, every namespace
	IstioGateways         []*unstructured.Unstructured // networking.istio.io, every namespace
	// EastWest are the Deployments and Services labelled istio=eastwestgateway.
	EastWest []*unstructured.Unstructured
}

// What Input.Unknown may name for the drift checks.
const (
	RouteReads    = "virtualservices and httproutes"
	AuthzReads    = "authorizationpolicies.security.istio.io"
	GatewayReads  = "gateways (Istio's and Gateway API's)"
	EastWestReads = "east-west gateway Deployments and Services"
)

// ClusterInput is what doctor read of one cluster of a mesh.
type ClusterInput struct {
	Cluster Cluster
	Input   Input
	Drift   DriftInput
}

// The drift checks, by name.
const (
	CheckCluster       = "cluster"
	CheckDriftVersion  = "drift-version"
	CheckDriftMesh     = "drift-mesh-config"
	CheckDriftNetwork  = "drift-network"
	CheckEastWest      = "east-west-gateway"
	CheckDriftLockdown = "drift-lockdown"
	CheckDriftRoute    = "drift-route"
	CheckDriftWaypoint = "drift-waypoint"
)

// CheckClusters runs every check in each cluster, the finding naming its cluster, and the
// drift checks between them; most serious first.
func CheckClusters(clusters []ClusterInput) []Finding {
	var findings []Finding
	for _, c := range clusters {
		for _, f := range Check(c.Input) {
			f.Clusters = []Cluster{c.Cluster}
			findings = append(findings, f)
		}
	}
	findings = append(findings, Drift(clusters)...)
	SortFindings(findings)
	return findings
}

// SortFindings orders findings most serious first, then by check, cluster and object.
func SortFindings(findings []Finding) {
	slices.SortStableFunc(findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Severity.Rank(), b.Severity.Rank()), cmp.Compare(a.Check, b.Check),
			cmp.Compare(clusterNames(a.Clusters), clusterNames(b.Clusters)), cmp.Compare(a.Object.String(), b.Object.String()))
	})
}

// Unreachable is the finding for a cluster that did not answer: nothing of it was checked.
func Unreachable(c Cluster, reason string) Finding {
	return Finding{Severity: Error, Check: CheckCluster, Object: Object{Kind: "Cluster", Name: c.Name()}, Clusters: []Cluster{c},
		Why: fmt.Sprintf("%s was not checked: %s", c, reason),
		Fix: fmt.Sprintf("kubectl --context %s get namespaces, then run doctor again; the other clusters were checked", c.Context)}
}

// Drift compares the clusters of one mesh: what must agree between them (cluster IDs, istiod
// versions, trust domain, mesh ID, root namespace, networks with their east-west gateways)
// and, in namespaces of the scope found in several clusters, lockdowns, routes and waypoints.
func Drift(clusters []ClusterInput) []Finding {
	if len(clusters) < 2 {
		return nil
	}
	var findings []Finding
	findings = append(findings, duplicateIDs(clusters)...)
	findings = append(findings, istiodDrift(clusters)...)
	findings = append(findings, meshConfigDrift(clusters)...)
	findings = append(findings, networkDrift(clusters)...)
	findings = append(findings, lockdownDrift(clusters)...)
	findings = append(findings, routeDrift(clusters)...)
	findings = append(findings, waypointDrift(clusters)...)
	return findings
}

// duplicateIDs: two clusters on one cluster ID cannot be told apart by Istio or its telemetry.
func duplicateIDs(clusters []ClusterInput) []Finding {
	var findings []Finding
	for _, v := range variantsOf(clusters, func(c ClusterInput) (string, bool) { return c.Cluster.ID, c.Cluster.ID != "" }) {
		if len(v.clusters) > 1 {
			findings = append(findings, Finding{Severity: Error, Check: CheckCluster, Object: Object{Kind: "Cluster", Name: v.value}, Clusters: v.clusters,
				Why: fmt.Sprintf("%s all run istiod with cluster ID %s: Istio keys endpoints and telemetry (source_cluster, destination_cluster) by it, so their workloads are confused", listClusters(v.clusters), v.value),
				Fix: "give each cluster its own ID (values.global.multiCluster.clusterName, istiod's CLUSTER_ID) and reinstall it"})
		}
	}
	return findings
}

// istiodDrift: istiod's versions (image tags) and revisions per cluster, where one runs.
func istiodDrift(clusters []ClusterInput) []Finding {
	versions := variantsOf(clusters, func(c ClusterInput) (string, bool) { return istiodSummary(c.Input, istiodVersion) })
	revisions := variantsOf(clusters, func(c ClusterInput) (string, bool) { return istiodSummary(c.Input, istio.IstiodRevision) })
	object := Object{Kind: "Deployment", Namespace: istio.InstallNamespace, Name: "istiod"}
	var findings []Finding
	if len(versions) > 1 {
		findings = append(findings, Finding{Severity: Warning, Check: CheckDriftVersion, Object: object, Clusters: allOf(versions),
			Why: fmt.Sprintf("istiod versions differ: %s; a mesh runs one version, beside another only while an upgrade is under way", describe(versions)),
			Fix: "upgrade every cluster to one version (revision by revision, cluster by cluster: istioctl x precheck --context CTX), and finish the upgrade"})
	}
	if len(revisions) > 1 {
		findings = append(findings, Finding{Severity: Info, Check: CheckDriftVersion, Object: object, Clusters: allOf(revisions),
			Why: fmt.Sprintf("istiod revisions differ: %s; a namespace labelled istio.io/rev for a revision one cluster lacks gets no sidecar there", describe(revisions)),
			Fix: "install the same revisions (and revision tags) in every cluster: istioctl install --revision REV --context CTX"})
	}
	return findings
}

// istiodSummary joins, sorted and once each, what of each istiod of a cluster; false for a
// cluster without istiod (a remote) or whose istiod could not be read.
func istiodSummary(in Input, what func(*unstructured.Unstructured) string) (string, bool) {
	if in.Unknown[ControlPlaneReads] {
		return "", false
	}
	var values []string
	for _, d := range controlPlane(in, isIstiod) {
		values = append(values, what(d))
	}
	slices.Sort(values)
	values = slices.Compact(values)
	return strings.Join(values, ", "), len(values) > 0
}

// istiodVersion is istiod's image tag (1.28.0 of pilot:1.28.0-distroless), else its image.
func istiodVersion(d *unstructured.Unstructured) string {
	image, _ := discovery(d)["image"].(string)
	if v, ok := minorVersion(image); ok {
		return v.text
	}
	return image
}

// meshConfigDrift: what every cluster's mesh config must agree on.
func meshConfigDrift(clusters []ClusterInput) []Finding {
	object := Object{Kind: "ConfigMap", Namespace: istio.InstallNamespace, Name: istio.MeshConfigMap}
	fields := []struct{ name, why, fix string }{
		{"trust domains", "workload identities (TRUSTDOMAIN/ns/NS/sa/SA) from one cluster match no principal of the other's AuthorizationPolicies, and cross-cluster mTLS fails",
			"set one trustDomain in every cluster's mesh config (configmap istio in istio-system, key mesh), or list the others in trustDomainAliases"},
		{"mesh IDs", "Istio takes the clusters for different meshes: proxies carry their mesh ID, and endpoints are not shared as one mesh's",
			"install every cluster with one mesh ID (values.global.meshID, meshConfig meshId)"},
		{"root namespaces", "mesh-wide policy (PeerAuthentications, AuthorizationPolicies in the root namespace) is read from a different namespace in each cluster",
			"set one rootNamespace in every cluster's mesh config (configmap istio in istio-system, key mesh)"},
	}
	values := []func(Input) string{
		func(in Input) string { return in.Mesh.TrustDomain },
		func(in Input) string { return cmp.Or(meshIDOf(in), in.Mesh.TrustDomain) }, // Istio's default
		func(in Input) string { return in.Mesh.RootNamespace },
	}
	var findings []Finding
	for i, field := range fields {
		if i == 1 && !slices.ContainsFunc(clusters, func(c ClusterInput) bool { return meshIDOf(c.Input) != "" }) {
			continue // no mesh ID set: the trust domains stand for them, and are compared above
		}
		if vs := variantsOf(clusters, func(c ClusterInput) (string, bool) { return values[i](c.Input), true }); len(vs) > 1 {
			findings = append(findings, Finding{Severity: Error, Check: CheckDriftMesh, Object: object, Clusters: allOf(vs),
				Why: fmt.Sprintf("%s differ: %s; %s", field.name, describe(vs), field.why), Fix: field.fix})
		}
	}
	return findings
}

// meshIDOf is the mesh ID a cluster sets: its mesh config's, else what its istiod's
// environment gives the proxies (ISTIO_META_MESH_ID, MESH_ID); "" when none is set.
func meshIDOf(in Input) string {
	if in.Mesh.MeshID != "" {
		return in.Mesh.MeshID
	}
	for _, d := range controlPlane(in, isIstiod) {
		if id := cmp.Or(istiodEnv(d, "ISTIO_META_MESH_ID"), istiodEnv(d, "MESH_ID")); id != "" {
			return id
		}
	}
	return ""
}

// variant is one value and the clusters that have it.
type variant struct {
	value    string
	clusters []Cluster
}

// variantsOf groups the clusters by value, in the clusters' order; clusters for which value
// says false are left out.
func variantsOf(clusters []ClusterInput, value func(ClusterInput) (string, bool)) []variant {
	var out []variant
	for _, c := range clusters {
		v, ok := value(c)
		if !ok {
			continue
		}
		if i := slices.IndexFunc(out, func(x variant) bool { return x.value == v }); i >= 0 {
			out[i].clusters = append(out[i].clusters, c.Cluster)
		} else {
			out = append(out, variant{value: v, clusters: []Cluster{c.Cluster}})
		}
	}
	return out
}

// describe says each value and where: "1.28.0 in cluster a (context x); 1.27.1 in cluster b".
func describe(vs []variant) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s in %s", cmp.Or(v.value, "(none)"), listClusters(v.clusters))
	}
	return strings.Join(parts, "; ")
}

func allOf(vs []variant) []Cluster {
	var out []Cluster
	for _, v := range vs {
		out = append(out, v.clusters...)
	}
	return out
}

func listClusters(clusters []Cluster) string {
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}

// clusterNames is what the CLUSTER column shows: the clusters' IDs (else contexts).
func clusterNames(clusters []Cluster) string {
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.Name()
	}
	return strings.Join(names, ",")
}
