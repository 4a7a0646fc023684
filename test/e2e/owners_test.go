//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

const rolloutCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: rollouts.argoproj.io}
spec:
  group: argoproj.io
  names: {kind: Rollout, listKind: RolloutList, plural: rollouts, singular: rollout}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// A route another writer holds is left alone: a rollout controller's always (named, with what
// to run instead), a GitOps tool's unless --force (then with a warning). Every write names
// kubectl-mesh as its field manager.
func TestCanaryLeavesRoutesOthersHold(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "owners")
	apply(t, rolloutCRD)
	mustSucceed(t, kubectl(t, "wait", "--for", "condition=established", "crd/rollouts.argoproj.io", "--timeout", "60s"))

	route := func(metadata string) {
		t.Helper()
		kubectl(t, "delete", "virtualservice", "reviews", "-n", ns, "--ignore-not-found")
		apply(t, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: %s
%s
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
`, ns, metadata))
	}
	tests := []struct {
		name, metadata string
		owner          string
		forceable      bool
	}{
		{"Argo CD", `  annotations: {argocd.argoproj.io/tracking-id: "bookinfo:networking.istio.io/VirtualService:` + ns + `/reviews"}`, "Argo CD application bookinfo", true},
		{"Flux", `  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}`, "Flux Kustomization flux-system/apps", true},
		{"Flagger", `  ownerReferences: [{apiVersion: flagger.app/v1beta1, kind: Canary, name: reviews, uid: 6e1b7f1c-0000-4000-8000-000000000001}]`, "Flagger Canary " + ns + "/reviews", false},
		{"Argo Rollouts by ownerReference", `  ownerReferences: [{apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: reviews, uid: 6e1b7f1c-0000-4000-8000-000000000002}]`, "Argo Rollout " + ns + "/reviews", false},
	}
	for _, tt := range tests {
		route(tt.metadata)
		r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns)
		if r.code != 1 || !strings.Contains(r.stderr, tt.owner) || !strings.Contains(r.stderr, "VirtualService "+ns+"/reviews") {
			t.Errorf("%s: want a refusal naming %q:\n%s", tt.name, tt.owner, r)
		}
		assertWeights(t, ns, "reviews", "v1 100")
		r = plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns, "--force")
		switch {
		case tt.forceable && (r.code != 0 || !strings.Contains(r.stderr, "its next sync will revert this change")):
			t.Errorf("%s --force: want the change and a warning:\n%s", tt.name, r)
		case !tt.forceable && r.code != 1:
			t.Errorf("%s --force: a controller's route was changed:\n%s", tt.name, r)
		}
	}

	// A Rollout whose traffic routing names the route, without owning it.
	route("")
	apply(t, fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: reviews-rollout, namespace: %s}
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {name: reviews, routes: [primary]}
`, ns))
	r := plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns, "--force")
	if r.code != 1 || !strings.Contains(r.stderr, "Argo Rollout "+ns+"/reviews-rollout") || !strings.Contains(r.stderr, "kubectl argo rollouts promote reviews-rollout -n "+ns) {
		t.Errorf("a Rollout's route: want a refusal naming it and what to run:\n%s", r)
	}
	mustSucceed(t, kubectl(t, "delete", "rollout.argoproj.io", "reviews-rollout", "-n", ns))

	// Nobody else holds it: the change goes ahead, under our name.
	mustSucceed(t, plugin(t, cluster, "mesh", "canary", "reviews", "10", "-n", ns))
	managers := mustSucceed(t, kubectl(t, "get", "virtualservice", "reviews", "-n", ns, "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}"))
	if !strings.Contains(managers.stdout, "kubectl-mesh") {
		t.Errorf("managed fields name %q, not kubectl-mesh", managers.stdout)
	}
}

// lockdown leaves a PeerAuthentication a GitOps tool applies, unless --force.
func TestLockdownLeavesPolicyGitOpsApplies(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "owners-lockdown")
	apply(t, fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: %s
  labels: {helm.toolkit.fluxcd.io/name: mesh-policy, helm.toolkit.fluxcd.io/namespace: %s}
spec:
  mtls: {mode: PERMISSIVE}
`, ns, ns))
	before := policies(t, ns)
	r := plugin(t, cluster, "mesh", "lockdown", ns)
	if r.code != 1 || !strings.Contains(r.stderr, "PeerAuthentication "+ns+"/default is applied by Flux HelmRelease "+ns+"/mesh-policy") {
		t.Errorf("want a refusal naming the HelmRelease:\n%s", r)
	}
	if after := policies(t, ns); after != before {
		t.Errorf("a refused lockdown wrote:\n%s", after)
	}
	r = mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--force"))
	if !strings.Contains(r.stderr, "its next sync will revert this change") {
		t.Errorf("--force: want a warning:\n%s", r)
	}
	managers := mustSucceed(t, kubectl(t, "get", "peerauthentication", "default", "-n", ns, "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}"))
	if !strings.Contains(managers.stdout, "kubectl-mesh") {
		t.Errorf("managed fields name %q, not kubectl-mesh", managers.stdout)
	}
}
