//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-mesh/kubectl-mesh/internal/faultproxy"
)

// exposedBookinfoInBoth is bookinfo in ns of both clusters, each exposed through its own
// ingress gateway, as a multi-primary mesh runs it.
func (m *twoClusters) exposedBookinfoInBoth(t *testing.T, ns string) string {
	t.Helper()
	m.bookinfoInBoth(t, ns)
	m.both(t, "exposing bookinfo in "+ns, func(c *meshCluster) error {
		if err := c.Fixture.LoadIngressGateway(t.Context()); err != nil {
			return err
		}
		return c.Fixture.LoadBookinfoGateway(t.Context(), ns)
	})
	return ns
}

// lockdownStates are lockdownState of ns in east and in west.
func (m *twoClusters) lockdownStates(t *testing.T, ns string) [2]string {
	t.Helper()
	return [2]string{m.East.lockdownState(t, ns), m.West.lockdownState(t, ns)}
}

// assertLockdownStates fails the test for each cluster whose ns is not as before.
func (m *twoClusters) assertLockdownStates(t *testing.T, ns string, before [2]string) {
	t.Helper()
	for i, got := range m.lockdownStates(t, ns) {
		if got != before[i] {
			t.Errorf("%s is not as it was:\n%s\nwant:\n%s", []string{"east", "west"}[i], got, before[i])
		}
	}
}

// lockdownState is what lockdown writes in ns of one cluster, one line per object: kind/name,
// labels and spec, without what the API server adds.
func (c *meshCluster) lockdownState(t *testing.T, ns string) string {
	t.Helper()
	r := mustSucceed(t, c.kubectl(t, "get", "peerauthentications.security.istio.io,authorizationpolicies.security.istio.io", "-n", ns, "-o", "json"))
	return stateOf(t, r.stdout, true)
}

// assertAnalyzeCleanIn: istioctl analyze, run on one context of kubeconfig, finds no error
// in ns (assertAnalyzeClean reads the main cluster).
func assertAnalyzeCleanIn(t *testing.T, kubeconfig, context, ns string) {
	t.Helper()
	r := run(t, command{name: filepath.Join(binDir, "istioctl"), args: []string{"analyze", "--kubeconfig", kubeconfig, "--context", context, "-n", ns, "-o", "json"}})
	if r.code != 0 && r.code != 79 { // 79: issues found at the failure threshold
		t.Fatalf("istioctl analyze --context %s failed:\n%s", context, r)
	}
	var all []analysis
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatalf("istioctl analyze -o json printed something else (%v):\n%s", err, r)
	}
	for _, a := range all {
		if a.Level == "Error" {
			t.Errorf("istioctl analyze reports an error in %s of context %s: %v", ns, context, a)
		}
	}
}

// A lockdown of both clusters: planned per cluster and shown under each cluster's name,
// written in both, clean for istioctl analyze in both, and undone in both.
func TestMultiClusterLockdown(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.exposedBookinfoInBoth(t, "mc-lockdown")
	contexts := "--contexts=east,west"

	r := mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, contexts, "--dry-run"))
	for _, want := range []string{
		"==> cluster cluster-east (context east) <==\nauthorizationpolicy/kubectl-mesh-allow-productpage-v1 created (dry run)",
		"==> cluster cluster-west (context west) <==\nauthorizationpolicy/kubectl-mesh-allow-productpage-v1 created (dry run)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, r)
		}
	}
	r = mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, contexts, "--dry-run", "-o", "json"))
	var planned struct {
		Clusters []struct {
			Cluster, Context string
			Items            []struct{ Kind string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &planned); err != nil || len(planned.Clusters) != 2 ||
		planned.Clusters[0].Cluster != eastID || planned.Clusters[1].Context != "west" || len(planned.Clusters[1].Items) != 3 {
		t.Errorf("-o json (%v):\n%s", err, r.stdout)
	}
	m.both(t, "after the dry run", func(c *meshCluster) error {
		if got := c.lockdownState(t, ns); got != "" {
			return fmt.Errorf("a dry run wrote %s", got)
		}
		return nil
	})

	r = mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, contexts))
	m.both(t, "after the lockdown", func(c *meshCluster) error {
		if got := c.lockdownState(t, ns); strings.Count(got, "\n") != 2 || !strings.Contains(got, "kubectl-mesh-default-deny") {
			return fmt.Errorf("lockdown wrote:\n%s\noutput:\n%s", got, r)
		}
		assertAnalyzeCleanIn(t, m.Kubeconfig, c.Context, ns)
		return nil
	})

	status := mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, contexts, "--status"))
	if strings.Count(status.stdout, "locked down:    yes") != 2 || !strings.Contains(status.stdout, "the 2 clusters agree") {
		t.Errorf("status:\n%s", status)
	}

	r = mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, contexts, "--undo"))
	m.both(t, "after the undo", func(c *meshCluster) error {
		if got := c.lockdownState(t, ns); got != "" {
			return fmt.Errorf("undo left %s\noutput:\n%s", got, r)
		}
		assertAnalyzeCleanIn(t, m.Kubeconfig, c.Context, ns)
		return nil
	})
}

// A lockdown of one cluster only: --status of both says where they differ.
func TestMultiClusterLockdownStatusShowsDifferences(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.exposedBookinfoInBoth(t, "mc-lockdown-differ")
	mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, "--context", "east"))
	status := mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, "--contexts", "east,west", "--status"))
	for _, want := range []string{
		"the clusters differ:",
		"locked down: yes in cluster-east; no in cluster-west",
		"namespace mTLS: STRICT in cluster-east; not set in cluster-west",
		"mTLS of every workload: STRICT in cluster-east; PERMISSIVE in cluster-west",
		"authorization of productpage-v1: allow from cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account in cluster-east; allow all (no ALLOW policy) in cluster-west",
	} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	r := mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, "--contexts", "east,west", "--status", "-o", "json"))
	var s struct{ Differences []string }
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || len(s.Differences) == 0 || s.Differences[0] != "locked down: yes in cluster-east; no in cluster-west" {
		t.Errorf("-o json (%v):\n%s", err, r.stdout)
	}
	mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, "--context", "east", "--undo"))
}

// kubeconfigWithFaultyWest is the two clusters' kubeconfig plus context west-faulty: west as
// its admin, through a proxy that injects faults.
func (m *twoClusters) kubeconfigWithFaultyWest(t *testing.T) (string, *faultproxy.Proxy) {
	t.Helper()
	proxy, err := faultproxy.NewTLS(m.West.Cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	cfg, err := clientcmd.LoadFromFile(m.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	west := cfg.Contexts[m.West.Context]
	server := cfg.Clusters[west.Cluster].DeepCopy()
	server.Server, server.CertificateAuthority, server.CertificateAuthorityData, server.InsecureSkipTLSVerify = proxy.URL, "", nil, true
	cfg.Clusters["west-faulty"] = server
	faulty := west.DeepCopy()
	faulty.Cluster = "west-faulty"
	cfg.Contexts["west-faulty"] = faulty
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path, proxy
}

// When a write in the second cluster fails, the first is put back exactly as it was, and
// the message says what happened in each cluster.
func TestMultiClusterLockdownSecondClusterFails(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.exposedBookinfoInBoth(t, "mc-lockdown-fault")
	// A policy of another team in east, which the lockdown changes and must give back.
	m.East.apply(t, fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: team-mtls, namespace: %s, labels: {team: books}}
spec: {mtls: {mode: PERMISSIVE}}
`, ns))
	kubeconfig, proxy := m.kubeconfigWithFaultyWest(t)
	before := m.lockdownStates(t, ns)
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("write %d in west fails", n), func(t *testing.T) {
			proxy.Set(&faultproxy.Rule{Match: faultproxy.Writes, Nth: n, Fault: faultproxy.Fault{Status: 500}})
			defer proxy.Set()
			r := runThrough(t, kubeconfig, []string{"mesh", "lockdown", ns, "--contexts", "east,west-faulty"}, nil)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", r.code, r)
			}
			assertNoStackTrace(t, r)
			for _, want := range []string{
				"cluster cluster-west (context west-faulty): ",
				"injected fault: HTTP 500",
				"lockdown mc-lockdown-fault failed in cluster cluster-west (context west-faulty); every cluster is as it was:",
				"cluster cluster-east (context east): written, then reverted because cluster-west failed\n    reverted, in this order: authorizationpolicy/kubectl-mesh-default-deny, peerauthentication/team-mtls, authorizationpolicy/kubectl-mesh-allow-productpage-v1; nothing was left changed",
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the message lacks %q:\n%s", want, r)
				}
			}
			m.assertLockdownStates(t, ns, before)
		})
	}
}

// A cluster that does not answer: a lockdown refuses and changes nothing; --status and a dry
// run go on with east and name the one that did not answer.
func TestMultiClusterLockdownUnreachableCluster(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.exposedBookinfoInBoth(t, "mc-lockdown-gone")
	before := m.East.lockdownState(t, ns)
	for _, args := range [][]string{{}, {"--undo"}} {
		r := m.mesh(t, append([]string{"mesh", "lockdown", ns, "--contexts", "east," + goneContext}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "gone") || !strings.Contains(r.stderr, "nothing was changed") {
			t.Errorf("lockdown %v with a cluster that does not answer: exit %d\n%s", args, r.code, r)
		}
		assertNoStackTrace(t, r)
	}
	if got := m.East.lockdownState(t, ns); got != before {
		t.Errorf("east changed:\n%s\nwant:\n%s", got, before)
	}
	for _, args := range [][]string{{"--status"}, {"--dry-run"}} {
		r := mustSucceed(t, m.mesh(t, append([]string{"mesh", "lockdown", ns, "--contexts", "east," + goneContext}, args...)...))
		if !strings.Contains(r.stdout, "==> cluster cluster-east (context east) <==") || !strings.Contains(r.stderr, "gone") {
			t.Errorf("%v does not go on with east, or does not name gone:\n%s", args, r)
		}
	}
	status := mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, "--contexts", "east,"+goneContext, "--status"))
	if !strings.Contains(status.stdout, "\nnot compared (could not be read):\n  cluster gone: cannot reach the API server") {
		t.Errorf("--status does not say it did not compare gone:\n%s", status)
	}
}

// editorReadsLockdownInput lets user editor read, in every namespace of a cluster, all that a
// lockdown reads, and write nothing.
const editorReadsLockdownInput = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: mc-lockdown-reader}
rules:
- apiGroups: [""]
  resources: [namespaces, pods, services, configmaps]
  verbs: [get, list]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list]
- apiGroups: [security.istio.io, networking.istio.io, gateway.networking.k8s.io]
  resources: ["*"]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: mc-lockdown-editor-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: mc-lockdown-reader}
subjects: [{kind: User, name: editor, apiGroup: rbac.authorization.k8s.io}]
`

// In west the user may read but not create AuthorizationPolicies: the lockdown is refused
// there, and east, written first, is put back exactly as it was.
func TestMultiClusterLockdownSecondClusterForbids(t *testing.T) {
	t.Parallel()
	m := meshOfTwo(t)
	ns := m.exposedBookinfoInBoth(t, "mc-lockdown-forbidden")
	m.West.apply(t, editorReadsLockdownInput)
	before := m.lockdownStates(t, ns)
	r := m.mesh(t, "mesh", "lockdown", ns, "--contexts", "east,west-editor")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", r.code, r)
	}
	assertNoStackTrace(t, r)
	for _, want := range []string{
		"lockdown mc-lockdown-forbidden failed in cluster cluster-west (context west-editor); every cluster is as it was:",
		`User "editor" cannot create resource "authorizationpolicies"`,
		"cluster cluster-east (context east): written, then reverted because cluster-west failed",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the message lacks %q:\n%s", want, r)
		}
	}
	m.assertLockdownStates(t, ns, before)
}

// sidecarSaw is a request productpage's sidecar made to reviews-v1, as the destination's
// sidecar in cluster reported it.
func sidecarSaw(ns, cluster string) series {
	return series{value: 120, labels: map[string]string{
		"reporter": "destination", "request_protocol": "http", "response_code": "200", "response_flags": "-",
		"source_workload": "productpage-v1", "source_workload_namespace": ns, "source_principal": "spiffe://cluster.local/ns/" + ns + "/sa/bookinfo-productpage",
		"source_cluster": eastID, "destination_workload": "reviews-v1", "destination_workload_namespace": ns, "destination_app": "reviews",
		"destination_version": "v1", "destination_service_name": "reviews", "destination_service_namespace": ns, "destination_cluster": cluster,
		"connection_security_policy": "mutual_tls",
	}}
}

// lockdown --what-if --contexts replays each cluster's plan on the edges into it and writes
// nothing in either cluster.
func TestMultiClusterLockdownWhatIf(t *testing.T) {
	m := meshOfTwo(t)
	ns := m.exposedBookinfoInBoth(t, "mc-lockdown-whatif")
	prom := newAmbientPrometheus(t)
	prom.requests.Store([]series{sidecarSaw(ns, eastID), sidecarSaw(ns, westID)})
	before := m.lockdownStates(t, ns)

	r := mustSucceed(t, m.mesh(t, "mesh", "lockdown", ns, "--what-if", "--contexts", "east,west", "--prometheus-url", prom.URL))
	for _, want := range []string{
		"replayed 2 edges seen into " + ns, "no verdict changes",
		eastID + " (context east): 1 edge replayed", westID + " (context west): 1 edge replayed",
		"authorizationpolicy " + ns + "/kubectl-mesh-default-deny created",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lockdown --what-if --contexts lacks %q:\n%s", want, r)
		}
	}
	m.assertLockdownStates(t, ns, before)
}
