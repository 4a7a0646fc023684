//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// exposedBookinfo is bookinfo in its own namespace, exposed through the ingress gateway.
func exposedBookinfo(t *testing.T, ns string) string {
	t.Helper()
	bookinfoNamespace(t, ns)
	if err := fixture.LoadBookinfoGateway(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns
}

// policies lists a namespace's security policies as kind/name, sorted, via kubectl.
func policies(t *testing.T, ns string) string {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", "peerauthentications.security.istio.io,authorizationpolicies.security.istio.io", "-n", ns, "-o", "name"))
	return strings.TrimSpace(r.stdout)
}

func TestLockdownBookinfo(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "lockdown-bookinfo")

	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns))
	want := `authorizationpolicy/kubectl-mesh-allow-productpage-v1 created: ALLOW productpage-v1 from istio-system/istio-ingressgateway-service-account
peerauthentication/default created: mtls STRICT (was not set: mesh default applies)
authorizationpolicy/kubectl-mesh-default-deny created: deny by default: ALLOW nothing unless another policy does

namespace lockdown-bookinfo: mTLS STRICT, deny by default. Allowed callers:
  productpage-v1 <- istio-system/istio-ingressgateway-service-account (ingress gateway lockdown-bookinfo/bookinfo-gateway, routed by VirtualService lockdown-bookinfo/bookinfo)
  denied every caller: details-v1, ratings-v1, reviews-v1, reviews-v2, reviews-v3 (allow callers with --allow-from)
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	pa := getObject(t, ns, "peerauthentication", "default")
	if mode, _, _ := unstructured.NestedString(pa.Object, "spec", "mtls", "mode"); mode != "STRICT" || pa.GetLabels()["app.kubernetes.io/managed-by"] != "kubectl-mesh" {
		t.Errorf("peerauthentication/default: mode %q, labels %v", mode, pa.GetLabels())
	}
	allow := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-productpage-v1")
	rules, _, _ := unstructured.NestedSlice(allow.Object, "spec", "rules")
	if got := fmt.Sprint(rules); !strings.Contains(got, testcluster.IngressPrincipal) {
		t.Errorf("the gateway's principal is not allowed to productpage: %s", got)
	}
	deny := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-default-deny")
	if spec, _, _ := unstructured.NestedMap(deny.Object, "spec"); len(spec) != 0 {
		t.Errorf("default deny has a spec: %v", spec)
	}
	assertAnalyzeClean(t, ns)

	// Idempotent, by the other spelling.
	r = mustSucceed(t, plugin(t, cluster, "mesh-lockdown", ns))
	if !strings.HasPrefix(r.stdout, "namespace lockdown-bookinfo: already locked down, nothing to change\n") {
		t.Errorf("second lockdown:\n%s", r)
	}

	status := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--status"))
	for _, want := range []string{"namespace mTLS: STRICT (peerauthentication/default)", "locked down:    yes"} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}
	for workload, want := range map[string]string{
		"productpage-v1": "1 sidecar STRICT allow from " + testcluster.IngressPrincipal,
		"reviews-v3":     "1 sidecar STRICT deny all (no ALLOW rule matches)",
	} {
		if got := statusRow(status.stdout, workload); got != want {
			t.Errorf("status of %s: %q, want %q\n%s", workload, got, want, status.stdout)
		}
	}

	r = mustSucceed(t, plugin(t, cluster, "mesh-lockdown", ns, "--undo"))
	want = `authorizationpolicy/kubectl-mesh-default-deny deleted: created by lockdown
peerauthentication/default deleted: created by lockdown
authorizationpolicy/kubectl-mesh-allow-productpage-v1 deleted: created by lockdown
`
	if r.stdout != want {
		t.Errorf("undo stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := policies(t, ns); got != "" {
		t.Errorf("undo left %s", got)
	}
	r = mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if !strings.Contains(r.stdout, "nothing to undo") {
		t.Errorf("second undo:\n%s", r)
	}
	assertAnalyzeClean(t, ns)
}

// Another team's PeerAuthentication (not named default) and policies survive lockdown and
// undo: the PeerAuthentication is updated in place, never doubled, then restored exactly.
func TestLockdownKeepsForeignPolicies(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "lockdown-foreign")
	apply(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: team-mtls
  namespace: lockdown-foreign
  labels: {team: books}
  annotations: {owner: books-team}
spec:
  mtls: {mode: PERMISSIVE}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: lockdown-foreign}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: [/admin]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-from-reviews, namespace: lockdown-foreign}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
  rules: [{from: [{source: {principals: [cluster.local/ns/lockdown-foreign/sa/bookinfo-reviews]}}]}]
`)
	before := map[string]*unstructured.Unstructured{
		"peerauthentication/team-mtls":             getObject(t, ns, "peerauthentication", "team-mtls"),
		"authorizationpolicy/deny-admin":           getObject(t, ns, "authorizationpolicy", "deny-admin"),
		"authorizationpolicy/ratings-from-reviews": getObject(t, ns, "authorizationpolicy", "ratings-from-reviews"),
	}
	r := mustSucceed(t, plugin(t, cluster, "mesh-lockdown", ns, "--allow-from", "ns/"+ns))
	if !strings.Contains(r.stdout, "peerauthentication/team-mtls configured: mtls STRICT (was PERMISSIVE)\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	pas := mustSucceed(t, kubectl(t, "get", "peerauthentications.security.istio.io", "-n", ns, "-o", "name")).stdout
	if pas != "peerauthentication.security.istio.io/team-mtls\n" {
		t.Errorf("PeerAuthentications after lockdown: %q (want team-mtls alone)", pas)
	}
	pa := getObject(t, ns, "peerauthentication", "team-mtls")
	if mode, _, _ := unstructured.NestedString(pa.Object, "spec", "mtls", "mode"); mode != "STRICT" {
		t.Errorf("team-mtls mode %q", mode)
	}
	for _, name := range []string{"deny-admin", "ratings-from-reviews"} {
		if got := getObject(t, ns, "authorizationpolicy", name); got.GetResourceVersion() != before["authorizationpolicy/"+name].GetResourceVersion() {
			t.Errorf("lockdown changed authorizationpolicy/%s", name)
		}
	}
	assertAnalyzeClean(t, ns)

	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	after := getObject(t, ns, "peerauthentication", "team-mtls")
	for _, obj := range []*unstructured.Unstructured{before["peerauthentication/team-mtls"], after} {
		for _, f := range []string{"resourceVersion", "generation", "managedFields"} {
			unstructured.RemoveNestedField(obj.Object, "metadata", f)
		}
	}
	if !equality.Semantic.DeepEqual(before["peerauthentication/team-mtls"].Object, after.Object) {
		t.Errorf("undo did not restore team-mtls:\nbefore: %v\nafter:  %v", before["peerauthentication/team-mtls"].Object, after.Object)
	}
	want := "peerauthentication.security.istio.io/team-mtls\nauthorizationpolicy.security.istio.io/deny-admin\nauthorizationpolicy.security.istio.io/ratings-from-reviews"
	if got := policies(t, ns); got != want {
		t.Errorf("after undo:\n%s\nwant:\n%s", got, want)
	}
	assertAnalyzeClean(t, ns)
}

// A workload without a version label is still covered: its ALLOW policy selects by app alone.
func TestLockdownWorkloadWithoutVersion(t *testing.T) {
	t.Parallel()
	ns := "lockdown-no-version"
	if err := fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := fixture.LoadApp(t.Context(), ns,
		testcluster.Workload{App: "web", ServiceAccount: "web", Replicas: 2, Ready: 2},
		testcluster.Workload{App: "api", Version: "v1", ServiceAccount: "api", Replicas: 1, Ready: 1},
	); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", ns+"/web", "--allow-from", "ns/istio-system"))
	web := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-web")
	selector, _, _ := unstructured.NestedStringMap(web.Object, "spec", "selector", "matchLabels")
	if fmt.Sprint(selector) != "map[app:web]" {
		t.Errorf("web's policy selects %v", selector)
	}
	api := getObject(t, ns, "authorizationpolicy", "kubectl-mesh-allow-api-v1")
	rules, _, _ := unstructured.NestedSlice(api.Object, "spec", "rules")
	if got := fmt.Sprint(rules); !strings.Contains(got, "cluster.local/ns/lockdown-no-version/sa/web") || !strings.Contains(got, "namespaces:[istio-system]") {
		t.Errorf("api's rules: %s", got)
	}
	// IST0127 would flag a selector that matches no workload.
	assertAnalyzeClean(t, ns)
}

// Pods without a sidecar stop the lockdown before anything is written, by name.
func TestLockdownPreflight(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "lockdown-preflight")
	if err := fixture.LoadApp(t.Context(), ns, testcluster.Workload{App: "legacy", ServiceAccount: "legacy", Replicas: 2, Ready: 2, NoSidecar: true}); err != nil {
		t.Fatal(err)
	}
	for _, spelling := range [][]string{{"mesh", "lockdown"}, {"mesh-lockdown"}} {
		r := plugin(t, cluster, append(spelling, ns)...)
		if r.code != 1 || !strings.Contains(r.stderr, "2 pods in namespace lockdown-preflight have no istio-proxy sidecar and are not in ambient mode, so they cannot serve STRICT mTLS: legacy-0, legacy-1") {
			t.Errorf("%v: want the preflight to stop and name the pods, got:\n%s", spelling, r)
		}
		assertNoStackTrace(t, r)
	}
	if got := policies(t, ns); got != "" {
		t.Errorf("a stopped lockdown wrote %s", got)
	}
	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--force"))
	if !strings.Contains(r.stderr, "warning: 2 pods in namespace lockdown-preflight have no istio-proxy sidecar") {
		t.Errorf("--force: want a warning, got:\n%s", r)
	}
}

func TestLockdownDryRun(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "lockdown-dry-run")
	for _, mode := range []string{"client", "server"} {
		r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--dry-run="+mode, "-o", "yaml"))
		for _, want := range []string{"kind: PeerAuthentication", "name: kubectl-mesh-default-deny", "name: kubectl-mesh-allow-productpage-v1", "mode: STRICT"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("--dry-run=%s -o yaml lacks %q:\n%s", mode, want, r.stdout)
			}
		}
		r = mustSucceed(t, plugin(t, cluster, "mesh-lockdown", ns, "--dry-run="+mode))
		suffix := map[string]string{"client": "(dry run)", "server": "(server dry run)"}[mode]
		if !strings.Contains(r.stdout, "peerauthentication/default created "+suffix+": mtls STRICT") {
			t.Errorf("--dry-run=%s:\n%s", mode, r.stdout)
		}
	}
	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--dry-run", "-o", "name"))
	want := "authorizationpolicy.security.istio.io/kubectl-mesh-allow-productpage-v1 created (dry run)\npeerauthentication.security.istio.io/default created (dry run)\nauthorizationpolicy.security.istio.io/kubectl-mesh-default-deny created (dry run)\n"
	if r.stdout != want {
		t.Errorf("-o name:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := policies(t, ns); got != "" {
		t.Errorf("a dry run wrote %s", got)
	}
}

func TestLockdownBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"no-such-namespace"}, `namespace "no-such-namespace" not found`},
		{[]string{"default", "--allow-from", "monitoring"}, `--allow-from "monitoring": write ns/NAMESPACE for a namespace or NAMESPACE/SERVICEACCOUNT`},
		{[]string{"default", "--allow-from", "ns/no-such-namespace"}, `--allow-from namespace no-such-namespace: namespace "no-such-namespace" not found`},
		{[]string{"default", "--undo", "--status"}, "--undo and --status contradict each other"},
		{[]string{"default", "other"}, "too many arguments"},
		{[]string{"default", "-o", "wide"}, `unknown output format "wide"`},
		{[]string{"istio-system"}, "Istio's root namespace"},
	}
	before := policies(t, "default")
	for _, tt := range tests {
		for _, spelling := range [][]string{{"mesh", "lockdown"}, {"mesh-lockdown"}} {
			r := plugin(t, cluster, append(spelling, tt.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v %v: want exit 1 and %q, got:\n%s", spelling, tt.args, tt.want, r)
			}
			assertNoStackTrace(t, r)
		}
	}
	if after := policies(t, "default"); after != before {
		t.Errorf("bad input changed default's policies: %q -> %q", before, after)
	}
}

func TestLockdownForbidden(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "lockdown-rbac")
	apply(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: lockdown-rbac}
rules:
- apiGroups: ["", networking.istio.io, security.istio.io]
  resources: ["*"]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer-reads, namespace: lockdown-rbac}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: User, name: viewer, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lockdown-rbac-namespaces}
rules: [{apiGroups: [""], resources: [namespaces], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lockdown-rbac-viewer-namespaces}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lockdown-rbac-namespaces}
subjects: [{kind: User, name: viewer, apiGroup: rbac.authorization.k8s.io}]
`)
	r := plugin(t, cluster, "mesh", "lockdown", ns, "--context", "viewer")
	if r.code != 1 || !strings.Contains(r.stderr, `User "viewer" cannot create resource "peerauthentications"`) {
		t.Errorf("viewer: want a forbidden error, got:\n%s", r)
	}
	// Reading everywhere else is forbidden to viewer: said, not fatal.
	if !strings.Contains(r.stderr, "virtualservices.networking.istio.io in all namespaces: only those in lockdown-rbac are considered") {
		t.Errorf("viewer: want a warning about the narrowed view, got:\n%s", r)
	}
	assertNoStackTrace(t, r)
	r = plugin(t, cluster, "mesh-lockdown", ns, "--context", "nobody")
	if r.code != 1 || !strings.Contains(r.stderr, `User "nobody" cannot get resource "namespaces"`) {
		t.Errorf("nobody: want a forbidden error, got:\n%s", r)
	}
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--status", "--context", "viewer"))
	if got := policies(t, ns); got != "" {
		t.Errorf("a refused lockdown wrote %s", got)
	}
}

// All or nothing: an admission policy refuses the last write (default deny); the ALLOW
// policy and the PeerAuthentication update made before it are reverted.
func TestLockdownRevertsWhenAWriteFails(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "lockdown-revert")
	apply(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: lockdown-revert, labels: {team: books}}
spec:
  mtls: {mode: PERMISSIVE}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: lockdown-revert-no-default-deny}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [security.istio.io]
      apiVersions: ["*"]
      operations: [CREATE]
      resources: [authorizationpolicies]
  validations:
  - expression: "object.metadata.name != 'kubectl-mesh-default-deny'"
    message: "default deny is reviewed by the security team"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: lockdown-revert-no-default-deny}
spec:
  policyName: lockdown-revert-no-default-deny
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: lockdown-revert}
`)
	waitForAdmissionPolicy(t, ns)
	before := getObject(t, ns, "peerauthentication", "default")

	r := plugin(t, cluster, "mesh", "lockdown", ns)
	for _, want := range []string{
		"authorizationpolicy/kubectl-mesh-default-deny create failed",
		"default deny is reviewed by the security team",
		"reverted, in this order: peerauthentication/default, authorizationpolicy/kubectl-mesh-allow-productpage-v1",
	} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("want exit 1 and %q, got:\n%s", want, r)
		}
	}
	if got := policies(t, ns); got != "peerauthentication.security.istio.io/default" {
		t.Errorf("after the failed lockdown: %q", got)
	}
	after := getObject(t, ns, "peerauthentication", "default")
	mode, _, _ := unstructured.NestedString(after.Object, "spec", "mtls", "mode")
	if mode != "PERMISSIVE" || !equality.Semantic.DeepEqual(after.GetLabels(), before.GetLabels()) || !equality.Semantic.DeepEqual(after.GetAnnotations(), before.GetAnnotations()) {
		t.Errorf("peerauthentication/default not restored: mode %s, labels %v, annotations %v", mode, after.GetLabels(), after.GetAnnotations())
	}
}

// waitForAdmissionPolicy polls a server-side dry run until the API server enforces the
// freshly created admission policy (it loads policies asynchronously).
func waitForAdmissionPolicy(t *testing.T, ns string) {
	t.Helper()
	probe := fmt.Sprintf(`{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"kubectl-mesh-default-deny","namespace":%q},"spec":{}}`, ns)
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		r := run(t, command{name: "kubectl", args: []string{"--kubeconfig", cluster.Kubeconfig, "create", "--dry-run=server", "-f", "-"}, stdin: probe})
		if r.code != 0 && strings.Contains(r.stderr, "reviewed by the security team") {
			return
		}
		<-tick.C
	}
	t.Fatal("the ValidatingAdmissionPolicy was not enforced within 30s")
}

// deploy/rbac.yaml grants exactly enough: a user bound to its ClusterRoles as the README
// says (lockdown's writer in the namespace alone) runs canary and lockdown (with undo) without
// a forbidden error, and doctor without skipping a check.
func TestDocumentedRBACIsEnough(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "rbac-documented")
	rbac, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, string(rbac)+`
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: editor-mesh-canary}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-mesh-canary}
subjects: [{kind: User, name: editor, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: editor-mesh-lockdown-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-mesh-lockdown-reader}
subjects: [{kind: User, name: editor, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editor-mesh-lockdown-writer, namespace: rbac-documented}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-mesh-lockdown-writer}
subjects: [{kind: User, name: editor, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: auditor-mesh-doctor}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-mesh-doctor}
subjects: [{kind: User, name: auditor, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: auditor-mesh-traces}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-mesh-traces}
subjects: [{kind: User, name: auditor, apiGroup: rbac.authorization.k8s.io}]
`)
	// traces' role may look for Jaeger: it is not there, and that is what it is told.
	if r := plugin(t, cluster, "mesh", "traces", "-n", ns, "--context", "auditor"); !strings.Contains(r.stderr, "no Jaeger found") || strings.Contains(r.stderr, "forbidden") {
		t.Errorf("traces as auditor, bound to kubectl-mesh-traces:\n%s", r)
	}
	// Doctor's role alone reads everything doctor checks: no check is skipped.
	for _, args := range [][]string{{"mesh", "doctor", "-A"}, {"mesh", "doctor", "-n", ns}} {
		r := plugin(t, cluster, append(args, "--context", "auditor", "--fail-on", "info")...)
		if strings.Contains(r.stderr, "may not") || strings.Contains(r.stderr, "forbidden") || strings.Contains(r.stderr, "cannot read") {
			t.Errorf("%v as auditor, bound to kubectl-mesh-doctor alone:\n%s", args, r)
		}
	}
	for _, args := range [][]string{
		{"mesh", "canary", "reviews", "10", "-n", ns},
		{"mesh", "canary", "reviews", "-n", ns},
		{"mesh", "lockdown", ns},
		{"mesh", "lockdown", ns, "--status"},
		{"mesh", "lockdown", ns, "--undo"},
	} {
		r := plugin(t, cluster, append(args, "--context", "editor")...)
		if r.code != 0 || strings.Contains(r.stderr, "forbidden") {
			t.Errorf("%v as editor:\n%s", args, r)
		}
	}
}
