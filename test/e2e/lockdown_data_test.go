//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

const teamPeerAuthentication = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: team-mtls
  namespace: %s
  labels: {team: books}
  annotations: {owner: books-team}
spec:
  mtls: {mode: PERMISSIVE}
`

// sh runs a shell pipeline, as a user types it, with kubectl pointed at the test cluster.
func sh(t *testing.T, pipeline string) result {
	t.Helper()
	return run(t, command{name: "sh", args: []string{"-c", pipeline}, env: []string{"KUBECONFIG=" + cluster.Kubeconfig}})
}

// copyObject copies an object as users do: kubectl get -o yaml, renamed (and whatever else
// edit does) with sed, then given to kubectl VERB -f - (create, or apply).
func copyObject(t *testing.T, ns, resource, name, newName, edit, verb string) {
	t.Helper()
	mustSucceed(t, sh(t, fmt.Sprintf(`kubectl get %s %s -n %s -o yaml | sed -e '/^  resourceVersion:/d' -e '/^  uid:/d' -e 's/^  name: %s$/  name: %s/' %s | kubectl %s -f -`,
		resource, name, ns, name, newName, edit, verb)))
}

// managers are the managedFields managers of an object, as kubectl shows them.
func managers(t *testing.T, ns, resource, name string) string {
	t.Helper()
	return mustSucceed(t, kubectl(t, "get", resource, name, "-n", ns, "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}")).stdout
}

func mtlsMode(pa *unstructured.Unstructured) string {
	mode, _, _ := unstructured.NestedString(pa.Object, "spec", "mtls", "mode")
	return mode
}

func describeMetadata(obj *unstructured.Unstructured) string {
	var parts []string
	for _, m := range []map[string]string{obj.GetLabels(), obj.GetAnnotations()} {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k != "kubectl.kubernetes.io/last-applied-configuration" {
				kv = append(kv, k+"="+m[k])
			}
		}
		parts = append(parts, "{"+strings.Join(kv, " ")+"}")
	}
	return strings.Join(parts, " ")
}

// Undo puts back only what lockdown changed on the team's PeerAuthentication: labels and
// annotations added since stay; a mode changed since stays, and undo says so; a record
// written by an older version (the whole object) still gives back the old mode.
func TestLockdownUndoKeepsLaterEdits(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "lockdown-data-edits")
	apply(t, fmt.Sprintf(teamPeerAuthentication, ns))
	lockdown := func() { mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", "ns/"+ns)) }

	lockdown()
	mustSucceed(t, kubectl(t, "label", "peerauthentication", "team-mtls", "-n", ns, "tier=gold"))
	mustSucceed(t, kubectl(t, "annotate", "peerauthentication", "team-mtls", "-n", ns, "reviewed-by=ana"))
	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if !strings.Contains(r.stdout, "peerauthentication/team-mtls configured: mtls PERMISSIVE restored (was STRICT)\n") {
		t.Errorf("undo:\n%s", r)
	}
	pa := getObject(t, ns, "peerauthentication", "team-mtls")
	if got, want := describeMetadata(pa), "{team=books tier=gold} {owner=books-team reviewed-by=ana}"; mtlsMode(pa) != "PERMISSIVE" || got != want {
		t.Errorf("after undo: mode %s, metadata %s, want PERMISSIVE, %s", mtlsMode(pa), got, want)
	}

	// The mode changed after lockdown set STRICT: undo leaves it and says so.
	lockdown()
	mustSucceed(t, kubectl(t, "patch", "peerauthentication", "team-mtls", "-n", ns, "--type", "merge", "-p", `{"spec":{"mtls":{"mode":"DISABLE"}}}`))
	r = mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if !strings.Contains(r.stderr, "peerauthentication/team-mtls: mtls mode is DISABLE, changed since lockdown set it to STRICT: undo leaves it as it is (before lockdown it was PERMISSIVE") ||
		!strings.Contains(r.stdout, "peerauthentication/team-mtls configured: lockdown's label and record removed; mtls DISABLE left as it is") {
		t.Errorf("undo of a mode changed since:\n%s", r)
	}
	pa = getObject(t, ns, "peerauthentication", "team-mtls")
	if got, want := describeMetadata(pa), "{team=books tier=gold} {owner=books-team reviewed-by=ana}"; mtlsMode(pa) != "DISABLE" || got != want {
		t.Errorf("after undo: mode %s, metadata %s, want DISABLE, %s", mtlsMode(pa), got, want)
	}
	if got := policies(t, ns); got != "peerauthentication.security.istio.io/team-mtls" {
		t.Errorf("after undo: %s", got)
	}

	// As an older version left it: the whole object recorded, written by kubectl-mesh.
	old := `{"spec":{"mtls":{"mode":"PERMISSIVE"}},"labels":{"team":"books"},"annotations":{"owner":"books-team"}}`
	as := "--field-manager=kubectl-mesh"
	mustSucceed(t, kubectl(t, "patch", "peerauthentication", "team-mtls", "-n", ns, as, "--type", "merge", "-p", `{"spec":{"mtls":{"mode":"STRICT"}}}`))
	mustSucceed(t, kubectl(t, "label", "peerauthentication", "team-mtls", "-n", ns, as, "app.kubernetes.io/managed-by=kubectl-mesh"))
	mustSucceed(t, kubectl(t, "annotate", "peerauthentication", "team-mtls", "-n", ns, as, "kubectl-mesh.dev/lockdown="+old))
	mustSucceed(t, kubectl(t, "annotate", "peerauthentication", "team-mtls", "-n", ns, "note=later"))
	r = mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if r.stdout != "peerauthentication/team-mtls configured: mtls PERMISSIVE restored (was STRICT)\n" {
		t.Errorf("undo of an old record:\n%s", r)
	}
	pa = getObject(t, ns, "peerauthentication", "team-mtls")
	if got, want := describeMetadata(pa), "{team=books tier=gold} {note=later owner=books-team reviewed-by=ana}"; mtlsMode(pa) != "PERMISSIVE" || got != want {
		t.Errorf("after undo of an old record: mode %s, metadata %s, want PERMISSIVE, %s", mtlsMode(pa), got, want)
	}
}

// A user's copies of lockdown's objects are theirs: copied with kubectl get -o yaml, renamed
// and edited, then created with kubectl create or apply, they carry lockdown's label and
// record, but not the API server's record that kubectl-mesh wrote them. A second lockdown
// neither converges nor deletes them ("workload gone"), and undo leaves them, the copy of
// the PeerAuthentication lockdown changed included.
func TestLockdownLeavesCopiesOfItsObjects(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "lockdown-data-copies")
	apply(t, fmt.Sprintf(teamPeerAuthentication, ns))
	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", "ns/istio-system"))
	ours := "kubectl-mesh-allow-details-v1"
	if got := managers(t, ns, "authorizationpolicy", ours); got != "kubectl-mesh" {
		t.Errorf("managers of %s: %q", ours, got)
	}

	// Renamed, callers edited; made with kubectl create, and with kubectl apply.
	toMonitoring := `-e 's/- istio-system$/- monitoring/'`
	copyObject(t, ns, "authorizationpolicy", ours, "details-from-monitoring", toMonitoring, "create")
	copyObject(t, ns, "authorizationpolicy", ours, "kubectl-mesh-allow-details-v9", toMonitoring, "apply")
	copies := map[string]*unstructured.Unstructured{}
	for _, name := range []string{"details-from-monitoring", "kubectl-mesh-allow-details-v9"} {
		copies[name] = getObject(t, ns, "authorizationpolicy", name)
		if copies[name].GetLabels()["app.kubernetes.io/managed-by"] != "kubectl-mesh" || copies[name].GetAnnotations()["kubectl-mesh.dev/lockdown"] != "created" {
			t.Fatalf("the copy %s does not carry lockdown's label and record: %v", name, copies[name].Object["metadata"])
		}
		if got := managers(t, ns, "authorizationpolicy", name); strings.Contains(got, "kubectl-mesh") {
			t.Errorf("managers of the copy %s: %q", name, got)
		}
	}

	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", "ns/istio-system"))
	// The copies are ALLOW policies of details' now: the summary names them as what decides
	// for it, and no write touches them.
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "authorizationpolicy/details-from-monitoring ") || strings.HasPrefix(line, "authorizationpolicy/kubectl-mesh-allow-details-v9 ") {
			t.Errorf("a second lockdown touches the copies:\n%s", r)
		}
	}
	for name, before := range copies {
		if after := getObject(t, ns, "authorizationpolicy", name); after.GetResourceVersion() != before.GetResourceVersion() {
			t.Errorf("a second lockdown changed the copy %s", name)
		}
	}

	// The PeerAuthentication lockdown changed, copied under another name.
	copyObject(t, ns, "peerauthentication", "team-mtls", "team-mtls-copy", "", "create")
	r = mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--undo"))
	if strings.Contains(r.stdout, "copy") || strings.Contains(r.stdout, "monitoring") || strings.Contains(r.stdout, "details-v9") {
		t.Errorf("undo touches the copies:\n%s", r)
	}
	want := "peerauthentication.security.istio.io/team-mtls\npeerauthentication.security.istio.io/team-mtls-copy\n" +
		"authorizationpolicy.security.istio.io/details-from-monitoring\nauthorizationpolicy.security.istio.io/kubectl-mesh-allow-details-v9"
	if got := policies(t, ns); got != want {
		t.Errorf("after undo:\n%s\nwant:\n%s", got, want)
	}
	if pa := getObject(t, ns, "peerauthentication", "team-mtls"); mtlsMode(pa) != "PERMISSIVE" {
		t.Errorf("team-mtls not restored: %s", mtlsMode(pa))
	}
	if pa := getObject(t, ns, "peerauthentication", "team-mtls-copy"); mtlsMode(pa) != "STRICT" || pa.GetAnnotations()["kubectl-mesh.dev/lockdown"] == "" {
		t.Errorf("undo changed the copy team-mtls-copy: mode %s, annotations %v", mtlsMode(pa), pa.GetAnnotations())
	}
}

// Pods app=api,version=v1 and pods app=api-v1 are both "api-v1" by name: lockdown makes them
// two workloads, each with a policy selecting exactly its own pods.
func TestLockdownWorkloadKeysNeverCollide(t *testing.T) {
	t.Parallel()
	ns := "lockdown-data-keys"
	if err := fixture.EnsureNamespace(t.Context(), ns, map[string]string{"istio-injection": "enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := fixture.LoadApp(t.Context(), ns,
		testcluster.Workload{App: "api", Version: "v1", Name: "api-versioned", ServiceAccount: "api", Replicas: 1, Ready: 1},
		testcluster.Workload{App: "api-v1", ServiceAccount: "legacy", Replicas: 2, Ready: 2},
	); err != nil {
		t.Fatal(err)
	}
	r := mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--allow-from", ns+"/api"))
	for _, want := range []string{"\n  api-v1 <- lockdown-data-keys/api", "\n  api-version-v1 <- lockdown-data-keys/api"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r)
		}
	}
	for policy, want := range map[string]string{
		"kubectl-mesh-allow-api-v1":         "pod/api-v1-0 pod/api-v1-1",
		"kubectl-mesh-allow-api-version-v1": "pod/api-versioned-0",
	} {
		ap := getObject(t, ns, "authorizationpolicy", policy)
		selector, _, _ := unstructured.NestedStringMap(ap.Object, "spec", "selector", "matchLabels")
		var terms []string
		for _, k := range slices.Sorted(maps.Keys(selector)) {
			terms = append(terms, k+"="+selector[k])
		}
		pods := mustSucceed(t, kubectl(t, "get", "pods", "-n", ns, "-l", strings.Join(terms, ","), "-o", "name"))
		if got := strings.Join(strings.Fields(pods.stdout), " "); got != want {
			t.Errorf("%s selects %s, want %s", policy, got, want)
		}
	}
	assertAnalyzeClean(t, ns)
}
