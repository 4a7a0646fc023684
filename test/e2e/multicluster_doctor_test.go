//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// Namespaces of the two-cluster doctor test: one with drift planted, one the same in both.
const (
	driftNamespace = "mc-doctor-drift"
	sameNamespace  = "mc-doctor-same"
)

// clusterReport is doctor -o json with --contexts: every finding names its clusters.
type clusterReport struct {
	Clusters []struct{ ID, Context string } `json:"clusters"`
	Findings []struct {
		Severity, Check, Why, Fix string
		Object                    struct{ Kind, Namespace, Name string }
		Clusters                  []struct{ ID, Context string }
	} `json:"findings"`
}

// clusterFindings runs doctor --contexts -o json and returns its findings as
// "severity check Kind/ns/name id,id", and each one's why by that line.
func (m *twoClusters) clusterFindings(t *testing.T, args ...string) ([]string, map[string]string, result) {
	t.Helper()
	r := m.mesh(t, append([]string{"mesh", "doctor", "-o", "json"}, args...)...)
	var report clusterReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("doctor --contexts -o json printed no report: %v\n%s", err, r)
	}
	var lines []string
	whys := map[string]string{}
	for _, f := range report.Findings {
		object := f.Object.Kind + "/" + f.Object.Name
		if f.Object.Namespace != "" {
			object = f.Object.Kind + "/" + f.Object.Namespace + "/" + f.Object.Name
		}
		var ids []string
		for _, c := range f.Clusters {
			ids = append(ids, cmpOr(c.ID, c.Context))
			if c.Context == "" {
				t.Errorf("finding %s names a cluster without its context", object)
			}
		}
		if f.Why == "" || f.Fix == "" || len(f.Clusters) == 0 {
			t.Errorf("finding %s without a why, a fix or a cluster", object)
		}
		line := fmt.Sprintf("%s %s %s %s", f.Severity, f.Check, object, strings.Join(ids, ","))
		lines = append(lines, line)
		whys[line] = f.Why
	}
	assertNoStackTrace(t, r)
	return lines, whys, r
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// plantClusterDrift changes what the two clusters must agree on, each change undone when the
// test ends: west's istiod on another version, west's trust domain, the clusters on two
// networks with an east-west gateway in east alone.
func (m *twoClusters) plantClusterDrift(t *testing.T) {
	mustSucceed(t, m.West.kubectl(t, "set", "image", "deployment/istiod", "-n", testcluster.IstioNamespace, "discovery=docker.io/istio/pilot:1.27.3"))
	t.Cleanup(func() {
		m.West.kubectl(t, "set", "image", "deployment/istiod", "-n", testcluster.IstioNamespace, "discovery="+testcluster.IstiodImage)
	})
	if r := m.West.kubectl(t, "get", "configmap", "istio", "-n", testcluster.IstioNamespace); r.code == 0 {
		t.Fatalf("west already has a mesh config this test would overwrite:\n%s", r)
	}
	m.West.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    trustDomain: west.example\n")
	t.Cleanup(func() {
		m.West.kubectl(t, "delete", "configmap", "istio", "-n", testcluster.IstioNamespace, "--ignore-not-found")
	})
	m.both(t, "labelling the network", func(c *meshCluster) error {
		if r := c.kubectl(t, "label", "namespace", testcluster.IstioNamespace, "topology.istio.io/network=net-"+c.Context); r.code != 0 {
			return fmt.Errorf("%s", r)
		}
		return nil
	})
	t.Cleanup(func() {
		for _, c := range []*meshCluster{m.East, m.West} {
			c.kubectl(t, "label", "namespace", testcluster.IstioNamespace, "topology.istio.io/network-")
		}
	})
	m.East.apply(t, `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: cross-network-gateway, namespace: istio-system}
spec:
  selector: {istio: eastwestgateway}
  servers: [{port: {number: 15443, name: tls, protocol: TLS}, tls: {mode: AUTO_PASSTHROUGH}, hosts: ["*.local"]}]
`)
	t.Cleanup(func() {
		m.East.kubectl(t, "delete", "gateways.networking.istio.io", "cross-network-gateway", "-n", testcluster.IstioNamespace, "--ignore-not-found")
	})
}

// reviewsRoutes is reviews' VirtualService and DestinationRule in ns, v1 weighing v1.
func reviewsRoutes(ns string, v1 int, lb string) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: %[1]s}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v1}, weight: %[2]d}, {destination: {host: reviews, subset: v2}, weight: %[3]d}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: %[1]s}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: %[4]s}}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`, ns, v1, 100-v1, lb)
}

// plantNamespaceDrift: in driftNamespace, a lockdown in east alone (what kubectl mesh
// lockdown writes), reviews' routes that differ, ratings' VirtualService in east alone and a
// waypoint in west alone; sameNamespace gets the same routes in both.
func (m *twoClusters) plantNamespaceDrift(t *testing.T) {
	m.both(t, "creating namespaces", func(c *meshCluster) error {
		for _, ns := range []string{driftNamespace, sameNamespace} {
			if err := c.Fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio-injection": "enabled"}); err != nil {
				return err
			}
		}
		return nil
	})
	t.Cleanup(func() {
		for _, c := range []*meshCluster{m.East, m.West} {
			c.kubectl(t, "delete", "namespace", driftNamespace, sameNamespace, "--wait=false")
		}
	})
	m.East.apply(t, reviewsRoutes(driftNamespace, 90, "ROUND_ROBIN")+"---\n"+reviewsRoutes(sameNamespace, 80, "ROUND_ROBIN")+`---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: mc-doctor-drift}
spec: {hosts: [ratings], http: [{route: [{destination: {host: ratings}}], timeout: 2s}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: mc-doctor-drift, labels: {app.kubernetes.io/managed-by: kubectl-mesh}}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: mc-doctor-drift, labels: {app.kubernetes.io/managed-by: kubectl-mesh}}
spec: {}
---
# A pod started before injection, east's own finding.
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: mc-doctor-drift}
---
apiVersion: v1
kind: Pod
metadata: {name: legacy, namespace: mc-doctor-drift}
spec: {serviceAccountName: app, automountServiceAccountToken: false, containers: [{name: legacy, image: legacy}]}
`)
	m.West.apply(t, reviewsRoutes(driftNamespace, 50, "LEAST_REQUEST")+"---\n"+reviewsRoutes(sameNamespace, 80, "ROUND_ROBIN")+`---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: mc-doctor-drift, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`)
}

// doctor --contexts names every drift planted between the two clusters, each with the
// clusters it is in; a namespace alike in both has none; a cluster that does not answer is a
// finding and the other is still checked. Not parallel: it changes both clusters' control
// planes, which other two-cluster tests read.
func TestDoctorClusters(t *testing.T) {
	m := meshOfTwo(t)
	m.plantClusterDrift(t)
	m.plantNamespaceDrift(t)

	lines, whys, r := m.clusterFindings(t, "-n", driftNamespace, "--contexts", "east,west")
	want := []string{
		"error drift-mesh-config ConfigMap/istio-system/istio cluster-east,cluster-west",
		"error east-west-gateway Gateway/istio-system/istio-eastwestgateway cluster-west",
		"warning drift-lockdown Namespace/" + driftNamespace + " cluster-east,cluster-west",
		"warning drift-route DestinationRule/" + driftNamespace + "/reviews cluster-east,cluster-west",
		"warning drift-route VirtualService/" + driftNamespace + "/ratings cluster-east,cluster-west",
		"warning drift-route VirtualService/" + driftNamespace + "/reviews cluster-east,cluster-west",
		"warning drift-version Deployment/istio-system/istiod cluster-east,cluster-west",
		"warning drift-waypoint Gateway/" + driftNamespace + "/waypoint cluster-east,cluster-west",
		"info drift-network Namespace/istio-system cluster-east,cluster-west",
	}
	if !slices.Contains(lines, "warning injection Pod/"+driftNamespace+"/legacy "+eastID) {
		t.Errorf("each cluster's own findings name it:\n%q", lines)
	}
	if got := driftLines(lines); !slices.Equal(got, want) {
		t.Errorf("drift planted in %s:\n got %q\nwant %q\n%s", driftNamespace, got, want, r)
	}
	for line, says := range map[string]string{
		want[0]: "trust domains differ: cluster.local in cluster cluster-east (context east); west.example in cluster cluster-west (context west)",
		want[2]: "locked down (STRICT mTLS and an allow-nothing AuthorizationPolicy) in cluster cluster-east (context east) (written there by kubectl mesh lockdown); open in cluster cluster-west (context west)",
		want[3]: `trafficPolicy.loadBalancer.simple ("ROUND_ROBIN" vs "LEAST_REQUEST")`,
		want[4]: "is in cluster cluster-east (context east) only, not in cluster cluster-west (context west)",
		want[5]: "http[0].route[0].weight (90 vs 50)",
		want[6]: "1.28.0 in cluster cluster-east (context east); 1.27.3 in cluster cluster-west (context west)",
		want[7]: "waypoint mc-doctor-drift/waypoint is in cluster cluster-west (context west) only",
	} {
		if !strings.Contains(whys[line], says) {
			t.Errorf("%s: why %q does not say %q", line, whys[line], says)
		}
	}
	if r.code != 1 || !strings.Contains(r.stderr, "findings at or above --fail-on error") {
		t.Errorf("error findings must exit 1:\n%s", r)
	}

	lines, _, r = m.clusterFindings(t, "-n", sameNamespace, "--contexts", "east,west")
	for _, line := range driftLines(lines) {
		if strings.Contains(line, sameNamespace) {
			t.Errorf("%s is alike in both clusters, yet: %s\n%s", sameNamespace, line, r)
		}
	}

	table := m.mesh(t, "mesh", "doctor", "-n", driftNamespace, "--contexts", "east,west")
	if !strings.Contains(table.stdout, "CLUSTER") || !strings.Contains(table.stdout, "cluster-east,cluster-west") {
		t.Errorf("the table must show each finding's clusters:\n%s", table)
	}
	t.Logf("kubectl mesh doctor -n %s --contexts east,west\n%s%s", driftNamespace, table.stdout, table.stderr)
	wide := m.mesh(t, "mesh", "doctor", "-n", driftNamespace, "--contexts", "east,west", "-o", "wide")
	for _, says := range []string{"http[0].route[0].weight (90 vs 50), http[0].route[1].weight (10 vs 50)", "kubectl mesh lockdown " + driftNamespace + " --context west"} {
		if !strings.Contains(wide.stdout, says) {
			t.Errorf("-o wide does not say %q:\n%s", says, wide)
		}
	}

	t.Run("a cluster that does not answer", func(t *testing.T) { doctorClusterGone(t, m) })
}

// driftLines keeps the findings between clusters: the drift checks, and those of the
// cluster check (unreachable, duplicate IDs).
func driftLines(lines []string) []string {
	var out []string
	for _, line := range lines {
		if check := strings.Fields(line)[1]; strings.HasPrefix(check, "drift-") || check == "east-west-gateway" || check == "cluster" {
			out = append(out, line)
		}
	}
	return out
}

// --contexts east,gone: gone is an error finding, east is still checked.
func doctorClusterGone(t *testing.T, m *twoClusters) {
	lines, whys, r := m.clusterFindings(t, "-n", driftNamespace, "--contexts", "east,"+goneContext, "--request-timeout", "5s")
	gone := "error cluster Cluster/" + goneContext + " " + goneContext
	if !slices.Contains(lines, gone) || !strings.Contains(whys[gone], "cluster "+goneContext+" was not checked") {
		t.Errorf("the cluster that does not answer must be a finding:\n%q\n%s", lines, r)
	}
	if east := "warning injection Pod/" + driftNamespace + "/legacy " + eastID; !slices.Contains(lines, east) {
		t.Errorf("east must still be checked:\n%q\n%s", lines, r)
	}
	if got := driftLines(lines); !slices.Equal(got, []string{gone}) {
		t.Errorf("one cluster answered: no drift to find, got %q", got)
	}
	if r.code != 1 {
		t.Errorf("an unchecked cluster must fail the run:\n%s", r)
	}
	t.Logf("kubectl mesh doctor -n %s --contexts east,gone\n%s", driftNamespace, m.mesh(t, "mesh", "doctor", "-n", driftNamespace, "--contexts", "east,gone", "--request-timeout", "5s").stdout)
}
