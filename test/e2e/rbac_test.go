//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// applyDocumentedRBAC applies deploy/rbac.yaml and the bindings given (as manifests).
func applyDocumentedRBAC(t *testing.T, bindings ...string) {
	t.Helper()
	rbac, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, string(rbac)+"\n---\n"+strings.Join(bindings, "\n---\n"))
}

// binding binds user to the ClusterRole role: cluster-wide when ns is "", else in ns alone.
func binding(user, role, ns string) string {
	if ns == "" {
		return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %s-%s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}
subjects: [{kind: User, name: %s, apiGroup: rbac.authorization.k8s.io}]`, user, role, role, user)
	}
	return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %s-%s, namespace: %s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}
subjects: [{kind: User, name: %s, apiGroup: rbac.authorization.k8s.io}]`, user, role, ns, role, user)
}

// lockdown's reader, bound cluster-wide, reads everything a lockdown is planned from and
// writes nothing; its writer, bound in one namespace, locks that namespace and no other.
func TestLockdownRolesSplitReadingFromWriting(t *testing.T) {
	t.Parallel()
	x := exposedBookinfo(t, "rbac-split-x")
	y := exposedBookinfo(t, "rbac-split-y")
	applyDocumentedRBAC(t,
		binding("auditor", "kubectl-mesh-lockdown-reader", ""),
		binding("editor", "kubectl-mesh-lockdown-reader", ""),
		binding("editor", "kubectl-mesh-lockdown-writer", x))

	// The reader alone: plans and shows, never warns that it may not read, cannot write.
	for _, args := range [][]string{{x, "--status"}, {x, "--dry-run"}, {y, "--dry-run", "-o", "yaml"}} {
		r := plugin(t, cluster, append([]string{"mesh", "lockdown", "--context", "auditor"}, args...)...)
		if r.code != 0 || strings.Contains(r.stderr, "may not") || strings.Contains(r.stderr, "forbidden") {
			t.Errorf("lockdown %v as the reader:\n%s", args, r)
		}
	}
	r := plugin(t, cluster, "mesh", "lockdown", x, "--context", "auditor")
	if r.code != 1 || !strings.Contains(r.stderr, `User "auditor" cannot create resource`) {
		t.Errorf("lockdown %s by the reader alone: want a forbidden write, got:\n%s", x, r)
	}
	// Reader and writer in x: x is locked and unlocked; y is not written.
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", x, "--context", "editor"))
	if got := policies(t, x); !strings.Contains(got, "peerauthentication.security.istio.io/default") {
		t.Errorf("%s after its lockdown by its writer: %q", x, got)
	}
	r = plugin(t, cluster, "mesh", "lockdown", y, "--context", "editor")
	if r.code != 1 || !strings.Contains(r.stderr, `User "editor" cannot create resource`) || !strings.Contains(r.stderr, `in the namespace "`+y+`"`) {
		t.Errorf("lockdown %s by the writer of %s: want a forbidden write, got:\n%s", y, x, r)
	}
	if got := policies(t, y); got != "" {
		t.Errorf("%s was written by the writer of %s: %q", y, x, got)
	}
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", x, "--undo", "--context", "editor"))
	if got := policies(t, x); got != "" {
		t.Errorf("%s after undo: %q", x, got)
	}
}

// services/proxy is granted by name: the documented roles reach Prometheus as Istio's addon
// names it, and not a Service of another name, of which the error names the grant to add.
func TestServiceProxyGrantedByName(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "rbac-proxy-target")
	applyDocumentedRBAC(t, binding("auditor", "kubectl-mesh-graph", ""))
	var named, other requests
	serveService(t, "rbac-proxy-named", "prometheus", nil, recording(&named, fakePrometheus))
	serveService(t, "rbac-proxy-other", "prom-server", map[string]string{"app.kubernetes.io/name": "prometheus"}, recording(&other, fakePrometheus))

	r := plugin(t, cluster, "mesh", "graph", "-n", ns, "--prometheus-namespace", "rbac-proxy-named", "--context", "auditor")
	if r.code != 0 || strings.Contains(r.stderr, "forbidden") {
		t.Errorf("graph through prometheus:9090 as auditor:\n%s", r)
	}
	r = plugin(t, cluster, "mesh", "graph", "-n", ns, "--prometheus-namespace", "rbac-proxy-other", "--context", "auditor")
	for _, want := range []string{`cannot get resource "services/proxy"`, `resourceNames ["prom-server:9090"] in namespace rbac-proxy-other`} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("graph through prom-server:9090 as auditor: want exit 1 and %q, got:\n%s", want, r)
		}
	}
	if got := other.all(); len(got) > 0 {
		t.Errorf("prom-server was reached against RBAC: %s", got)
	}
	if len(named.all()) == 0 {
		t.Error("prometheus:9090 was not reached")
	}
	// Every services/proxy rule of the documented roles names its Services.
	kubectlRoles := mustSucceed(t, kubectl(t, "get", "clusterroles", "-l", "app.kubernetes.io/name=kubectl-mesh",
		"-o", `jsonpath={range .items[*]}{range .rules[*]}{.resources}{"|"}{.resourceNames}{"\n"}{end}{end}`))
	for _, line := range strings.Split(kubectlRoles.stdout, "\n") {
		resources, names, _ := strings.Cut(line, "|")
		if strings.Contains(resources, "services/proxy") && names == "" {
			t.Errorf("services/proxy granted without resourceNames: %s", line)
		}
	}
}
