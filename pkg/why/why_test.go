package why

import (
	"strings"
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

func obj(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	o := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &o.Object); err != nil {
		t.Fatal(err)
	}
	return o
}

func convert(t *testing.T, doc string, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj(t, doc).Object, into); err != nil {
		t.Fatal(err)
	}
}

// pod is a ready pod of app/version in ns, with a sidecar unless ambient.
func pod(t *testing.T, ns, app, version, sa string, ambient, ready bool) corev1.Pod {
	var p corev1.Pod
	containers := "[{name: app}, {name: istio-proxy}]"
	if ambient {
		containers = "[{name: app}]"
	}
	status := "True"
	if !ready {
		status = "False"
	}
	convert(t, `
metadata: {name: `+app+`-`+version+`-0, namespace: `+ns+`, labels: {app: `+app+`, version: `+version+`}}
spec: {serviceAccountName: `+sa+`, containers: `+containers+`}
status: {conditions: [{type: Ready, status: "`+status+`"}]}`, &p)
	return p
}

// bookinfo: productpage calling reviews (v1, v2 ready; v3 with no ready pod) in namespace shop.
func bookinfo(t *testing.T, ambient bool) Input {
	var svc corev1.Service
	convert(t, `metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}`, &svc)
	var dr networkingv1.DestinationRule
	convert(t, `metadata: {name: reviews, namespace: shop}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}, {name: v3, labels: {version: v3}}]}`, &dr)
	nsLabels := map[string]string{}
	if ambient {
		nsLabels[istio.DataplaneModeLabel] = istio.DataplaneModeAmbient
	}
	return Input{
		Mesh:            istio.DefaultMeshConfig(),
		Source:          Source{Name: "productpage-v1", Namespace: "shop", Pods: []corev1.Pod{pod(t, "shop", "productpage", "v1", "bookinfo-productpage", ambient, true)}, NamespaceLabels: nsLabels},
		Service:         &svc,
		Namespace:       "shop",
		NamespaceLabels: nsLabels,
		Pods: []corev1.Pod{
			pod(t, "shop", "reviews", "v1", "bookinfo-reviews", ambient, true),
			pod(t, "shop", "reviews", "v2", "bookinfo-reviews", ambient, true),
			pod(t, "shop", "reviews", "v3", "bookinfo-reviews", ambient, false),
		},
		DestinationRules: []*networkingv1.DestinationRule{&dr},
		Request:          Request{Method: "GET", Path: "/reviews/0", Port: 9080},
	}
}

// explainCase is one request and what Explain must say of it.
type explainCase struct {
	name    string
	ambient bool
	mutate  func(t *testing.T, in *Input)
	verdict string
	// response, enforcedAt and decidedBy ("ns/name#rule", "" for none) the report must carry.
	response, at, decided string
	says                  string
}

// authorizationCases: what the policies decide.
func authorizationCases() []explainCase {
	return []explainCase{
		{name: "no policy", verdict: Allowed, response: "200", at: istio.AtSidecar, says: "no ALLOW policy applies"},
		{name: "a DENY rule", mutate: func(t *testing.T, in *Input) {
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, obj(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-get, namespace: shop}
spec: {action: DENY, selector: {matchLabels: {app: reviews}}, rules: [{to: [{operation: {methods: [POST]}}]}, {to: [{operation: {methods: [GET]}}]}]}`))
		}, verdict: Denied, response: "403", at: istio.AtSidecar, decided: "shop/no-get#1", says: "by authorizationpolicy shop/no-get rule 1"},
		{name: "no ALLOW rule matches", mutate: func(t *testing.T, in *Input) {
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, obj(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-ratings, namespace: shop}
spec: {rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/bookinfo-ratings]}}]}]}`))
		}, verdict: Denied, response: "403", at: istio.AtSidecar, says: "no ALLOW policy matched (applied: shop/only-ratings)"},
		{name: "an ALLOW rule matches", mutate: func(t *testing.T, in *Input) {
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, obj(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: from-productpage, namespace: istio-system}
spec: {rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/bookinfo-productpage]}}]}]}`))
		}, verdict: Allowed, response: "200", at: istio.AtSidecar, decided: "istio-system/from-productpage#0"},
		{name: "a dry-run DENY is reported, not enforced", mutate: func(t *testing.T, in *Input) {
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, obj(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: trial, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{to: [{operation: {methods: [GET]}}]}]}`))
		}, verdict: Allowed, response: "200", at: istio.AtSidecar, says: "not enforced: dry-run DENY shop/trial would deny it"},
	}
}

// routingCases: mTLS, routes, versions and waypoints.
func routingCases() []explainCase {
	return []explainCase{
		{name: "plaintext under STRICT", mutate: func(t *testing.T, in *Input) {
			in.Source = Source{Outside: true, Namespace: "shop"}
			in.PeerAuthentications = append(in.PeerAuthentications, obj(t, `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}`))
		}, verdict: Denied, response: "connection reset", at: istio.AtSidecar, says: "by peerauthentication shop/default"},
		{name: "a subset no DestinationRule defines", mutate: func(t *testing.T, in *Input) {
			in.VirtualServices = append(in.VirtualServices, reviewsRoute(t, `[{route: [{destination: {host: reviews, subset: v9}}]}]`))
		}, verdict: Unroutable, response: "503 NC", says: "subset v9 is defined by no DestinationRule"},
		{name: "a subset with no ready pod", mutate: func(t *testing.T, in *Input) {
			in.VirtualServices = append(in.VirtualServices, reviewsRoute(t, `[{route: [{destination: {host: reviews, subset: v1}, weight: 90}, {destination: {host: reviews, subset: v3}, weight: 10}]}]`))
		}, verdict: Unroutable, response: "503 UH", says: "route 0 matches: v1 90%, v3 10%"},
		{name: "no route matches", mutate: func(t *testing.T, in *Input) {
			in.VirtualServices = append(in.VirtualServices, reviewsRoute(t, `[{match: [{uri: {prefix: /admin}}], route: [{destination: {host: reviews, subset: v1}}]}]`))
		}, verdict: Unroutable, response: "404 NR"},
		{name: "every destination weighs 0", mutate: func(t *testing.T, in *Input) {
			in.VirtualServices = append(in.VirtualServices, reviewsRoute(t, `[{route: [{destination: {host: reviews, subset: v1}, weight: 0}, {destination: {host: reviews, subset: v2}, weight: 0}]}]`))
		}, verdict: Unroutable, response: "500", says: "every destination of the route weighs 0"},
		{name: "an HTTPRoute split", mutate: func(t *testing.T, in *Input) {
			in.Routes = append(in.Routes, obj(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: shop}
spec: {parentRefs: [{group: "", kind: Service, name: reviews}], rules: [{matches: [{path: {type: PathPrefix, value: /reviews}}], backendRefs: [{name: reviews-v1, port: 9080, weight: 3}, {name: reviews-v2, port: 9080}]}]}`))
			for _, v := range []string{"v1", "v2"} {
				var s corev1.Service
				convert(t, `metadata: {name: reviews-`+v+`, namespace: shop}
spec: {selector: {app: reviews, version: `+v+`}}`, &s)
				in.Services = append(in.Services, s)
			}
		}, verdict: Allowed, response: "200", at: istio.AtSidecar, says: "rule 0 matches: reviews-v1 75%, reviews-v2 25%"},
		{name: "a targetRefs DENY at the waypoint", ambient: true, mutate: func(t *testing.T, in *Input) {
			in.Service.Labels = map[string]string{istio.UseWaypointLabel: "waypoint"}
			in.Waypoints = append(in.Waypoints, obj(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}`))
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, obj(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-reviews-get, namespace: shop}
spec: {action: DENY, targetRefs: [{kind: Service, group: "", name: reviews}], rules: [{to: [{operation: {methods: [GET]}}]}]}`))
		}, verdict: Denied, response: "403", at: istio.AtWaypoint, decided: "shop/no-reviews-get#0"},
		{name: "a waypoint for workload traffic carries no Service's", ambient: true, mutate: func(t *testing.T, in *Input) {
			in.Service.Labels = map[string]string{istio.UseWaypointLabel: "waypoint"}
			in.Waypoints = append(in.Waypoints, obj(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop, labels: {istio.io/waypoint-for: workload}}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}`))
			in.AuthorizationPolicies = append(in.AuthorizationPolicies, obj(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-reviews-get, namespace: shop}
spec: {action: DENY, targetRefs: [{kind: Service, group: "", name: reviews}], rules: [{to: [{operation: {methods: [GET]}}]}]}`))
		}, verdict: Allowed, response: "200", at: istio.AtZtunnel, says: "istiod does not bind it: waypoint shop/waypoint is not for service traffic"},
	}
}

func TestExplain(t *testing.T) {
	for _, tt := range append(authorizationCases(), routingCases()...) {
		t.Run(tt.name, func(t *testing.T) {
			in := bookinfo(t, tt.ambient)
			if tt.mutate != nil {
				tt.mutate(t, &in)
			}
			r := Explain(in)
			var text strings.Builder
			if err := WriteText(&text, r, in.Request); err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.verdict || r.Response != tt.response || (tt.at != "" && r.EnforcedAt != tt.at) {
				t.Errorf("verdict %s %q at %q, want %s %q at %q:\n%s", r.Verdict, r.Response, r.EnforcedAt, tt.verdict, tt.response, tt.at, text.String())
			}
			if got := decided(r); tt.decided != "" && got != tt.decided {
				t.Errorf("decided by %q, want %q:\n%s", got, tt.decided, text.String())
			}
			if !strings.Contains(text.String(), tt.says) {
				t.Errorf("the report does not say %q:\n%s", tt.says, text.String())
			}
		})
	}
}

// reviewsRoute is VirtualService reviews of namespace shop with these http routes.
func reviewsRoute(t *testing.T, http string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec: {hosts: [reviews], http: `+http+`}`)
}

func decided(r Report) string {
	if r.DecidedBy == nil || r.DecidedBy.Rule == nil {
		return ""
	}
	return r.DecidedBy.Namespace + "/" + r.DecidedBy.Name + "#" + string(rune('0'+*r.DecidedBy.Rule))
}
