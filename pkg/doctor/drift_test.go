package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// clusterOf sorts one cluster's objects into a ClusterInput named id (context: id without
// its "cluster-" prefix): the drift kinds into Drift, the rest as inputOf does.
func clusterOf(t *testing.T, id string, docs ...string) ClusterInput {
	t.Helper()
	var drift DriftInput
	var rest []string
	for _, doc := range docs {
		objects, err := manifest.Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objects {
			switch {
			case obj.GetLabels()["istio"] == "eastwestgateway":
				drift.EastWest = append(drift.EastWest, obj)
			case obj.GetKind() == "VirtualService":
				drift.VirtualServices = append(drift.VirtualServices, obj)
			case obj.GetKind() == "HTTPRoute":
				drift.HTTPRoutes = append(drift.HTTPRoutes, obj)
			case obj.GetKind() == "AuthorizationPolicy":
				drift.AuthorizationPolicies = append(drift.AuthorizationPolicies, obj)
			case obj.GetKind() == "Gateway" && strings.HasPrefix(obj.GetAPIVersion(), istio.GatewayAPIGroup):
				drift.Gateways = append(drift.Gateways, obj)
			case obj.GetKind() == "Gateway":
				drift.IstioGateways = append(drift.IstioGateways, obj)
			default:
				rest = append(rest, doc)
			}
		}
	}
	in := inputOf(t, rest...)
	in.Unknown = map[string]bool{}
	return ClusterInput{Cluster: Cluster{ID: id, Context: strings.TrimPrefix(id, "cluster-")}, Input: in, Drift: drift}
}

// driftOf is Drift's findings of one check as "severity object clusters" lines.
func driftOf(clusters []ClusterInput, check string) []string {
	var out []string
	for _, f := range Drift(clusters) {
		if f.Check == check {
			out = append(out, fmt.Sprintf("%s %s %s", f.Severity, f.Object, clusterNames(f.Clusters)))
		}
	}
	return out
}

func whyOf(t *testing.T, clusters []ClusterInput, check string) string {
	t.Helper()
	for _, f := range Drift(clusters) {
		if f.Check == check {
			if f.Fix == "" {
				t.Errorf("%s finding without a fix", check)
			}
			return f.Why
		}
	}
	t.Fatalf("no %s finding", check)
	return ""
}

func meshConfig(doc string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata: {mesh: %q}\n", doc)
}

func TestDriftControlPlane(t *testing.T) {
	east := clusterOf(t, "cluster-east", istiod("stable", "1.24.2"))
	west := clusterOf(t, "cluster-west", istiod("stable", "1.25.0"))
	if got, want := driftOf([]ClusterInput{east, west}, CheckDriftVersion), []string{"warning Deployment/istio-system/istiod cluster-east,cluster-west"}; !slices.Equal(got, want) {
		t.Errorf("versions: got %q, want %q", got, want)
	}
	if why := whyOf(t, []ClusterInput{east, west}, CheckDriftVersion); !strings.Contains(why, "1.24.2 in cluster cluster-east (context east); 1.25.0 in cluster cluster-west (context west)") {
		t.Errorf("versions why: %s", why)
	}
	canary := clusterOf(t, "cluster-west", istiod("stable", "1.24.2"), istiod("canary", "1.24.2"))
	if got, want := driftOf([]ClusterInput{east, canary}, CheckDriftVersion), []string{"info Deployment/istio-system/istiod cluster-east,cluster-west"}; !slices.Equal(got, want) {
		t.Errorf("revisions: got %q, want %q", got, want)
	}
	remote := clusterOf(t, "cluster-remote")
	if got := driftOf([]ClusterInput{east, remote}, CheckDriftVersion); len(got) != 0 {
		t.Errorf("a remote without istiod is no version drift: %q", got)
	}
	twin := clusterOf(t, "cluster-east", istiod("stable", "1.24.2"))
	twin.Cluster.Context = "east-copy"
	if got, want := driftOf([]ClusterInput{east, twin}, CheckCluster), []string{"error Cluster/cluster-east cluster-east,cluster-east"}; !slices.Equal(got, want) {
		t.Errorf("duplicate IDs: got %q, want %q", got, want)
	}
	if got := Drift([]ClusterInput{east}); len(got) != 0 {
		t.Errorf("one cluster has no drift: %v", got)
	}
}

// A mesh ID set in istiod's environment only counts as the mesh config's would.
func TestDriftMeshIDFromIstiod(t *testing.T) {
	withID := strings.Replace(istiod("stable", "1.24.2"), "image: docker.io", "env: [{name: ISTIO_META_MESH_ID, value: mesh-east}], image: docker.io", 1)
	clusters := []ClusterInput{clusterOf(t, "cluster-east", withID), clusterOf(t, "cluster-west", istiod("stable", "1.24.2"))}
	if why := whyOf(t, clusters, CheckDriftMesh); !strings.HasPrefix(why, "mesh IDs differ: mesh-east in cluster cluster-east (context east); cluster.local in cluster cluster-west (context west)") {
		t.Errorf("why: %s", why)
	}
}

func TestDriftMeshConfig(t *testing.T) {
	tests := []struct {
		name       string
		east, west istio.MeshConfig
		want       []string // what differs, in finding order
	}{
		{"same", istio.DefaultMeshConfig(), istio.DefaultMeshConfig(), nil},
		{"trust domain", istio.DefaultMeshConfig(), istio.MeshConfig{RootNamespace: "istio-system", TrustDomain: "west.example"}, []string{"trust domains differ: cluster.local in"}},
		{"mesh ID", istio.MeshConfig{RootNamespace: "istio-system", TrustDomain: "cluster.local", MeshID: "m1"}, istio.MeshConfig{RootNamespace: "istio-system", TrustDomain: "cluster.local", MeshID: "m2"}, []string{"mesh IDs differ: m1 in"}},
		{"mesh ID set in one, the same as the other's trust domain", istio.MeshConfig{RootNamespace: "istio-system", TrustDomain: "cluster.local", MeshID: "cluster.local"}, istio.DefaultMeshConfig(), nil},
		{"root namespace", istio.DefaultMeshConfig(), istio.MeshConfig{RootNamespace: "mesh-root", TrustDomain: "cluster.local"}, []string{"root namespaces differ: istio-system in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			east, west := clusterOf(t, "cluster-east"), clusterOf(t, "cluster-west")
			east.Input.Mesh, west.Input.Mesh = tt.east, tt.west
			var got []string
			for _, f := range Drift([]ClusterInput{east, west}) {
				if f.Check == CheckDriftMesh {
					got = append(got, f.Why)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %d findings", got, len(tt.want))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("got %q, want it to begin %q", got[i], tt.want[i])
				}
			}
		})
	}
}

const eastWestDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-eastwestgateway, namespace: istio-system, labels: {istio: eastwestgateway}}
`

const crossNetworkGateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: cross-network-gateway, namespace: istio-system}
spec:
  selector: {istio: eastwestgateway}
  servers: [{port: {number: 15443, name: tls, protocol: TLS}, tls: {mode: AUTO_PASSTHROUGH}, hosts: ["*.local"]}]
`

func TestDriftNetwork(t *testing.T) {
	onNetwork := func(name string) string { return namespace("istio-system", "topology.istio.io/network: "+name) }
	tests := []struct {
		name       string
		east, west []string
		want       []string
	}{
		{"one network", []string{onNetwork("n1")}, []string{onNetwork("n1")}, nil},
		{"no network anywhere", nil, nil, nil},
		{"two networks, a gateway in each", []string{onNetwork("n1"), eastWestDeployment}, []string{onNetwork("n2"), crossNetworkGateway}, []string{"info Namespace/istio-system cluster-east,cluster-west"}},
		{"two networks, a gateway in east only", []string{onNetwork("n1"), eastWestDeployment}, []string{onNetwork("n2")},
			[]string{"info Namespace/istio-system cluster-east,cluster-west", "error Gateway/istio-system/istio-eastwestgateway cluster-west"}},
		{"west on no network, gateway class istio-east-west in west", []string{onNetwork("n1")}, []string{namespace("istio-system", ""), "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: ew, namespace: istio-system}\nspec: {gatewayClassName: istio-east-west}\n"},
			[]string{"warning Namespace/istio-system cluster-east,cluster-west", "error Gateway/istio-system/istio-eastwestgateway cluster-east"}},
		{"network from istiod's NETWORK", []string{onNetwork("n1"), eastWestDeployment}, []string{eastWestDeployment, strings.Replace(istiod("stable", "1.24.2"), "image: docker.io", "env: [{name: NETWORK, value: n1}], image: docker.io", 1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clusters := []ClusterInput{clusterOf(t, "cluster-east", tt.east...), clusterOf(t, "cluster-west", tt.west...)}
			got := slices.Concat(driftOf(clusters, CheckDriftNetwork), driftOf(clusters, CheckEastWest))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	east, west := clusterOf(t, "cluster-east", onNetwork("n1")), clusterOf(t, "cluster-west", onNetwork("n2"))
	west.Input.Unknown[GatewayReads] = true
	if got := driftOf([]ClusterInput{east, west}, CheckEastWest); !slices.Equal(got, []string{"error Gateway/istio-system/istio-eastwestgateway cluster-east"}) {
		t.Errorf("west's gateways unreadable: only east may be judged, got %q", got)
	}
}

// With clusters, every finding names its clusters: in JSON, and in the table's CLUSTER
// column; a cluster that did not answer is a finding of its own.
func TestCheckClustersReport(t *testing.T) {
	east := clusterOf(t, "cluster-east", healthyControlPlane, namespace("shop", ""), sidecarPod("shop", "web", ""))
	west := clusterOf(t, "cluster-west", healthyControlPlane, namespace("shop", ""), scopedSidecar("shop"), lockedDown("shop")[0])
	gone := Cluster{Context: "gone"}
	findings := append(CheckClusters([]ClusterInput{east, west}), Unreachable(gone, "its API server does not answer"))
	SortFindings(findings)
	var got []string
	for _, f := range findings {
		got = append(got, fmt.Sprintf("%s %s %s %s", f.Severity, f.Check, clusterNames(f.Clusters), f.Object))
	}
	want := []string{
		"error cluster gone Cluster/gone",
		"warning drift-lockdown cluster-west,cluster-east Namespace/shop",
		"info sidecar-scope cluster-east Namespace/shop",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	report := NewReport("shop", findings)
	report.Clusters = []Cluster{east.Cluster, west.Cluster, gone}
	var table strings.Builder
	if err := WriteTable(&table, report, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SEVERITY  CHECK           CLUSTER                    NAMESPACE", "drift-lockdown  cluster-west,cluster-east  shop", "namespace shop of cluster cluster-east (context east), cluster cluster-west (context west), cluster gone: 1 error, 1 warning, 1 info"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if f := Unreachable(gone, "x"); !strings.Contains(f.Fix, "kubectl --context gone") {
		t.Errorf("unreachable fix: %s", f.Fix)
	}
}

// TestDriftReportGolden renders two clusters with one drift of each kind, as a table, wide,
// and JSON.
func TestDriftReportGolden(t *testing.T) {
	var clusters []ClusterInput
	for _, name := range []string{"east", "west"} {
		data, err := os.ReadFile("testdata/drift." + name + ".in.yaml")
		if err != nil {
			t.Fatal(err)
		}
		c := clusterOf(t, "cluster-"+name, strings.Split(string(data), "\n---\n")...)
		if name == "west" {
			c.Input.Mesh = istio.MeshConfig{RootNamespace: "istio-system", TrustDomain: "west.example", MeshID: "mesh-west"}
		}
		clusters = append(clusters, c)
	}
	report := NewReport("shop", CheckClusters(clusters))
	report.Clusters = []Cluster{clusters[0].Cluster, clusters[1].Cluster}
	var table, wide bytes.Buffer
	if err := WriteTable(&table, report, false); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/drift.table", table.String())
	for i, line := range strings.Split(table.String(), "\n") {
		if n := utf8.RuneCountInString(line); n > 200 {
			t.Errorf("table line %d is %d columns wide, more than a terminal's 200: %q", i+1, n, line)
		}
	}
	if err := WriteTable(&wide, report, true); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/drift.wide", wide.String())
	out, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/drift.json", string(out)+"\n")
	checks := map[string]bool{}
	for _, f := range report.Findings {
		checks[f.Check] = true
	}
	for _, check := range []string{CheckDriftVersion, CheckDriftMesh, CheckDriftNetwork, CheckEastWest, CheckDriftLockdown, CheckDriftRoute, CheckDriftWaypoint} {
		if !checks[check] {
			t.Errorf("the layout trips no %s finding", check)
		}
	}
}
