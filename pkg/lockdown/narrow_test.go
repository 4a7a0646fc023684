package lockdown

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// object reads one object from YAML.
func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}

func pod(t *testing.T, doc string) corev1.Pod {
	t.Helper()
	var p corev1.Pod
	mustConvert(t, object(t, doc), &p)
	return p
}

// neverWidenCase is a namespace that already carries something, and what lockdown must (not)
// write for it: policy names it must not write, text its plan must say.
type neverWidenCase struct {
	name      string
	mutate    func(t *testing.T, in *Input)
	allowFrom []string
	absent    []string
	says      []string
}

// existingPolicyCases: ALLOW policies already in force decide, and keep deciding.
func existingPolicyCases() []neverWidenCase {
	return []neverWidenCase{
		{
			name: "ALLOW beside a narrow ALLOW",
			mutate: func(t *testing.T, in *Input) {
				in.AuthorizationPolicies = append(in.AuthorizationPolicies, object(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-public, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]
    to: [{operation: {methods: [GET], paths: [/public/*]}}]`))
			},
			allowFrom: []string{"ns/monitoring", "shop/web"},
			absent:    []string{"kubectl-mesh-allow-reviews-v1", "kubectl-mesh-allow-reviews-v2"},
			says: []string{
				"reviews-v1 <- unchanged: its own ALLOW policies decide, as before (default/reviews-public)",
				"reviews-v1 <- namespace monitoring (--allow-from): default/reviews-public already decides who may call it and denies it today",
				"reviews-v1 <- shop/web (--allow-from): default/reviews-public already decides who may call it and admits it only for some requests",
			},
		},
		{
			name: "namespace-wide ALLOW",
			mutate: func(t *testing.T, in *Input) {
				in.AuthorizationPolicies = append(in.AuthorizationPolicies, object(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: same-namespace, namespace: default}
spec:
  rules: [{from: [{source: {namespaces: [default]}}]}]`))
			},
			allowFrom: []string{"ns/monitoring"},
			absent:    []string{"kubectl-mesh-allow-productpage-v1", "kubectl-mesh-allow-details-v1"},
			says:      []string{"productpage-v1 <- unchanged: its own ALLOW policies decide, as before (default/same-namespace)"},
		},
		{
			name: "root-namespace ALLOW",
			mutate: func(t *testing.T, in *Input) {
				in.MeshAuthorizationPolicies = append(in.MeshAuthorizationPolicies, object(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-allow, namespace: istio-system}
spec:
  selector: {matchLabels: {app: productpage}}
  rules: [{from: [{source: {principals: [cluster.local/ns/edge/sa/proxy]}}]}]`))
			},
			absent: []string{"kubectl-mesh-allow-productpage-v1"},
			says:   []string{"productpage-v1 <- unchanged: its own ALLOW policies decide, as before (istio-system/mesh-allow)", "ingress gateway default/bookinfo-gateway"},
		},
	}
}

// foreignObjectCases: other namespaces' objects, and labels, do not decide who gets in.
func foreignObjectCases() []neverWidenCase {
	return []neverWidenCase{
		{
			name: "a foreign Gateway selecting an ordinary app",
			mutate: func(t *testing.T, in *Input) {
				in.Gateways = append(in.Gateways, object(t, `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: sneaky, namespace: tenant}
spec: {selector: {app: details}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}`))
			},
			absent: []string{"kubectl-mesh-allow-details-v1"},
			says:   []string{"gateway tenant/sneaky names workload details-v1, whose pods do not run as gateways", "denied every caller: details-v1"},
		},
		{
			name: "a foreign Gateway on a tenant's sidecar pods routing into the namespace",
			mutate: func(t *testing.T, in *Input) {
				in.Gateways = append(in.Gateways, object(t, `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tenant-gw, namespace: tenant}
spec: {selector: {app: tenant-app}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}`))
				in.VirtualServices = append(in.VirtualServices, object(t, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: into-reviews, namespace: tenant}
spec: {hosts: ["*"], gateways: [tenant-gw], http: [{route: [{destination: {host: reviews.default.svc.cluster.local}}]}]}`))
				in.GatewayPods = append(in.GatewayPods, pod(t, `
metadata: {name: tenant-app-0, namespace: tenant, labels: {app: tenant-app}}
spec: {serviceAccountName: tenant-app, containers: [{name: app}, {name: istio-proxy}]}`))
			},
			absent: []string{"kubectl-mesh-allow-reviews-v1", "kubectl-mesh-allow-reviews-v2"},
			says:   []string{"gateway tenant/tenant-gw selects pods that do not run as gateways (tenant/tenant-app-0)"},
		},
		{
			name: "an HTTPRoute of another namespace without a ReferenceGrant",
			mutate: func(t *testing.T, in *Input) {
				in.K8sGateways = append(in.K8sGateways, object(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: tenant}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP}]}`))
				in.Routes = append(in.Routes, object(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: into-reviews, namespace: tenant}
spec: {parentRefs: [{name: edge}], rules: [{backendRefs: [{name: reviews, namespace: default, port: 9080}]}]}`))
				in.GatewayPods = append(in.GatewayPods, pod(t, `
metadata: {name: edge-istio-0, namespace: tenant, labels: {gateway.networking.k8s.io/gateway-name: edge}}
spec: {serviceAccountName: edge-istio, containers: [{name: istio-proxy, args: [proxy, router]}]}`))
			},
			absent: []string{"kubectl-mesh-allow-reviews-v1"},
			says:   []string{"HTTPRoute tenant/into-reviews sends to Service default/reviews with no ReferenceGrant in default allowing it"},
		},
		{
			name: "a pod labelled with the name of a Gateway that does not exist",
			mutate: func(t *testing.T, in *Input) {
				in.Pods = append(in.Pods, pod(t, `
metadata: {name: ghost-0, namespace: default, labels: {app: ghost, gateway.networking.k8s.io/gateway-name: ghost}}
spec: {serviceAccountName: ghost, containers: [{name: istio-proxy, args: [proxy, router]}]}`))
			},
			absent: []string{"kubectl-mesh-allow-ghost"},
			says:   []string{"denied every caller: details-v1, ghost"},
		},
	}
}

// The cases of "lockdown never widens access".
func TestLockdownNeverWidens(t *testing.T) {
	for _, tt := range append(existingPolicyCases(), foreignObjectCases()...) {
		t.Run(tt.name, func(t *testing.T) {
			in := loadInput(t, "bookinfo", "default")
			tt.mutate(t, &in)
			plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, tt.allowFrom...)})
			if err != nil {
				t.Fatal(err)
			}
			text := renderPlan(t, plan, WriteSummary) + strings.Join(plan.Warnings, "\n")
			for _, c := range plan.Changes {
				if c.After != nil && containsString(tt.absent, c.After.GetName()) {
					t.Errorf("lockdown writes %s:\n%s", c.After.GetName(), text)
				}
			}
			for _, want := range tt.says {
				if !strings.Contains(text, want) {
					t.Errorf("plan does not say %q:\n%s", want, text)
				}
			}
			assertNoWidening(t, in, plan)
		})
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// assertNoWidening checks the plan with the evaluator over a grid of callers at every
// workload: nothing allowed after that was denied before.
func assertNoWidening(t *testing.T, in Input, plan *Plan) {
	t.Helper()
	before := baseline(in)
	after := istio.Authorizer{Policies: before.Policies, RootNamespace: before.RootNamespace}
	for _, c := range plan.Changes {
		if c.After != nil && c.After.GetKind() == "AuthorizationPolicy" {
			after.Policies = append(after.Policies, c.After)
		}
	}
	callers := []string{"", istio.Unknown, "cluster.local/ns/shop/sa/web", "cluster.local/ns/monitoring/sa/prometheus", "cluster.local/ns/tenant/sa/tenant-app", "cluster.local/ns/tenant/sa/edge-istio", "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"}
	for _, w := range plan.Workloads {
		point, ok := plan.pointOf(in, w)
		if !ok {
			continue
		}
		for _, principal := range callers {
			for _, path := range []string{"", "/public/a", "/admin"} {
				r := istio.Request{Principal: principal, Path: path, Method: "GET"}
				if b, a := before.Decide(point, r), after.Decide(point, r); istio.Wider(b, a) {
					t.Errorf("%s at %s, path %q: before %s, after %s", principal, w.Name, path, b.Reason, a.Reason)
				}
			}
		}
	}
}

// A gateway under a JWT policy keeps it: no ALLOW-everything beside it.
func TestLockdownKeepsAJWTGuardedGateway(t *testing.T) {
	in := loadInput(t, "ambient", "amb")
	in.AuthorizationPolicies = append(in.AuthorizationPolicies, object(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: amb}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: bookinfo-gateway}]
  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]`))
	plan, err := Lockdown(in, Options{AllowFrom: mustParse(t, "ns/amb")})
	if err != nil {
		t.Fatal(err)
	}
	text := renderPlan(t, plan, WriteSummary)
	for _, c := range plan.Changes {
		if c.After != nil && c.After.GetName() == "kubectl-mesh-allow-bookinfo-gateway" {
			t.Errorf("lockdown opens the JWT-guarded gateway:\n%s", text)
		}
	}
	if !strings.Contains(text, "bookinfo-gateway <- unchanged: its own ALLOW policies decide, as before (amb/require-jwt)") {
		t.Errorf("the gateway's policy is not named:\n%s", text)
	}
	assertNoWidening(t, in, plan)
}

// When the only caller to keep behind a waypoint is the waypoint itself, the waypoint's
// policy admits no one: an empty caller list never becomes `rules: [{}]`.
func TestLockdownWaypointWithNoCallersAdmitsNoOne(t *testing.T) {
	in := loadInput(t, "ambient", "amb")
	seen := []Observation{observed("reviews", "v1", "cluster.local/ns/amb/sa/waypoint", true, 3)}
	plan, err := Lockdown(in, Options{Observed: seen})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.After == nil || c.After.GetName() != "kubectl-mesh-waypoint-allow-reviews" {
			continue
		}
		if rules, found, _ := unstructured.NestedSlice(c.After.Object, "spec", "rules"); found || len(rules) > 0 {
			t.Errorf("waypoint policy has rules %v, want none (admit no one)", rules)
		}
		return
	}
	t.Errorf("no waypoint policy planned:\n%s", renderPlan(t, plan, WriteSummary))
}

// Telemetry is checked, not trusted: a principal with a wildcard or an empty account admits
// no one, and another trust domain's caller keeps its trust domain.
func TestLockdownValidatesObservedPrincipals(t *testing.T) {
	in := loadInput(t, "bookinfo", "default")
	seen := []Observation{
		observed("details", "v1", "cluster.local/ns/*/sa/x", true, 1),
		observed("details", "v1", "cluster.local/ns/batch/sa/", true, 1),
		observed("details", "v1", "partner.example/ns/batch/sa/importer", true, 1),
	}
	plan, err := Lockdown(in, Options{Observed: seen})
	if err != nil {
		t.Fatal(err)
	}
	got := plan.Allowed["details-v1"]
	if len(got) != 1 || got[0].Principal(in.Mesh) != "partner.example/ns/batch/sa/importer" {
		t.Errorf("details-v1 allowed %+v, want only partner.example/ns/batch/sa/importer", got)
	}
	if warnings := strings.Join(plan.Warnings, "\n"); !strings.Contains(warnings, `"cluster.local/ns/*/sa/x"`) || !strings.Contains(warnings, `"cluster.local/ns/batch/sa/"`) {
		t.Errorf("invalid principals not named:\n%s", warnings)
	}
}

// Only routes Istio would program keep their gateway allowed: with a ReferenceGrant a route
// of another namespace counts (and is named), and a listener that admits only its own
// namespace's routes turns it away.
func TestLockdownCountsRoutesIstioPrograms(t *testing.T) {
	route := `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: into-reviews, namespace: tenant}
spec: {parentRefs: [{name: edge, namespace: infra}], rules: [{backendRefs: [{name: reviews, namespace: default, port: 9080}]}]}`
	grant := `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-tenant, namespace: default}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: tenant}]
  to: [{group: "", kind: Service, name: reviews}]`
	for _, tt := range []struct {
		name, from string
		allowed    bool
	}{
		{"listener admits all namespaces", "All", true},
		{"listener admits its own namespace only", "Same", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := loadInput(t, "bookinfo", "default")
			in.K8sGateways = append(in.K8sGateways, object(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: `+tt.from+`}}}]}`))
			in.Routes = append(in.Routes, object(t, route))
			in.ReferenceGrants = append(in.ReferenceGrants, object(t, grant))
			in.GatewayPods = append(in.GatewayPods, pod(t, `
metadata: {name: edge-istio-0, namespace: infra, labels: {gateway.networking.k8s.io/gateway-name: edge}}
spec: {serviceAccountName: edge-istio, containers: [{name: istio-proxy, args: [proxy, router]}]}`))
			plan, err := Lockdown(in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			text := renderPlan(t, plan, WriteSummary) + strings.Join(plan.Warnings, "\n")
			want := "reviews-v1 <- infra/edge-istio (gateway infra/edge, routed by HTTPRoute tenant/into-reviews)"
			if got := strings.Contains(text, want); got != tt.allowed {
				t.Errorf("gateway allowed = %v, want %v:\n%s", got, tt.allowed, text)
			}
			if !tt.allowed && !strings.Contains(text, "whose listeners do not admit routes from namespace tenant") {
				t.Errorf("the refused attachment is not said:\n%s", text)
			}
		})
	}
}
