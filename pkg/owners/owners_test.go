package owners

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}

const vsHeader = "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"

// Rollouts in namespace shop naming a VirtualService, several, and an HTTPRoute (through
// the Gateway API plugin); one in another namespace.
var rollouts = []string{`
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: reviews, namespace: shop}
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {name: reviews-vs, routes: [primary]}
`, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: ratings, namespace: shop}
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualServices: [{name: ratings-a}, {name: ratings-b}]
`, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: details, namespace: shop}
spec:
  strategy:
    canary:
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: details-route, namespace: shop}
`, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: elsewhere, namespace: other}
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {name: plain}
`}

func TestOf(t *testing.T) {
	var rs []*unstructured.Unstructured
	for _, r := range rollouts {
		rs = append(rs, object(t, r))
	}
	tests := []struct {
		name, manifest string
		kind           Kind
		owner          string
	}{
		{"nobody", vsHeader + "metadata: {name: plain, namespace: shop}", None, ""},
		{"a Flagger Canary owns it", vsHeader + `metadata:
  name: podinfo
  namespace: shop
  ownerReferences: [{apiVersion: flagger.app/v1beta1, kind: Canary, name: podinfo, uid: "1"}]`, Controller, "Flagger Canary shop/podinfo"},
		{"an Argo Rollout owns it", vsHeader + `metadata:
  name: x
  namespace: shop
  ownerReferences: [{apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web, uid: "1"}]`, Controller, "Argo Rollout shop/web"},
		{"a Rollout's trafficRouting names it", vsHeader + "metadata: {name: reviews-vs, namespace: shop}", Controller, "Argo Rollout shop/reviews"},
		{"one of a Rollout's VirtualServices", vsHeader + "metadata: {name: ratings-b, namespace: shop}", Controller, "Argo Rollout shop/ratings"},
		{"a Rollout's Gateway API plugin names it", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: details-route, namespace: shop}", Controller, "Argo Rollout shop/details"},
		{"a same-named VirtualService is not an HTTPRoute", vsHeader + "metadata: {name: details-route, namespace: shop}", None, ""},
		{"Argo CD annotation tracking", vsHeader + `metadata:
  name: a
  namespace: shop
  annotations: {argocd.argoproj.io/tracking-id: "bookinfo:networking.istio.io/VirtualService:shop/a"}`, GitOps, "Argo CD application bookinfo"},
		{"Argo CD label tracking", vsHeader + `metadata:
  name: a
  namespace: shop
  labels: {app.kubernetes.io/instance: bookinfo}
  annotations: {argocd.argoproj.io/sync-options: Prune=false}`, GitOps, "Argo CD application bookinfo"},
		{"the instance label alone is Helm's, not Argo CD's", vsHeader + `metadata:
  name: a
  namespace: shop
  labels: {app.kubernetes.io/instance: bookinfo}`, None, ""},
		{"a Flux Kustomization", vsHeader + `metadata:
  name: a
  namespace: shop
  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}`, GitOps, "Flux Kustomization flux-system/apps"},
		{"a Flux HelmRelease", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n" + `metadata:
  name: default
  namespace: shop
  labels: {helm.toolkit.fluxcd.io/name: mesh, helm.toolkit.fluxcd.io/namespace: shop}`, GitOps, "Flux HelmRelease shop/mesh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, tt.manifest)
			got := Of(obj, rs)
			if got.Kind != tt.kind || got.Name != tt.owner {
				t.Errorf("Of = %+v, want %v %q", got, tt.kind, tt.owner)
			}
			err := Refusal(obj, got, false)
			if (err != nil) != (tt.kind != None) {
				t.Errorf("refusal without --force: %v", err)
			}
			forced := Refusal(obj, got, true)
			if (forced != nil) != (tt.kind == Controller) {
				t.Errorf("refusal with --force: %v", forced)
			}
			if err != nil && (!strings.Contains(err.Error(), tt.owner) || !strings.Contains(err.Error(), obj.GetName())) {
				t.Errorf("the refusal names neither the owner nor the object: %v", err)
			}
		})
	}
}
