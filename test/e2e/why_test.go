//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// whyReport is the part of `why -o json` the tests read.
type whyReport struct {
	Verdict    string   `json:"verdict"`
	Response   string   `json:"response"`
	EnforcedAt string   `json:"enforcedAt"`
	Matched    []string `json:"matched"`
	Applied    []string `json:"applied"`
	DecidedBy  *struct {
		Kind, Namespace, Name string
		Rule                  *int
	} `json:"decidedBy"`
}

func (r whyReport) decided() string {
	if r.DecidedBy == nil {
		return ""
	}
	s := r.DecidedBy.Kind + " " + r.DecidedBy.Namespace + "/" + r.DecidedBy.Name
	if r.DecidedBy.Rule != nil {
		s += fmt.Sprintf(" rule %d", *r.DecidedBy.Rule)
	}
	return s
}

func whyJSON(t *testing.T, args ...string) (whyReport, result) {
	t.Helper()
	r := mustSucceed(t, plugin(t, cluster, append([]string{"mesh", "why"}, append(args, "-o", "json")...)...))
	var report whyReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("why -o json printed something else (%v):\n%s", err, r)
	}
	return report, r
}

// why in a sidecar namespace: each verdict, and the rule that decides it, as Istio documents
// them; the simulator's separate reading of the policies agrees on every authorization case.
func TestWhySidecar(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "why-sidecar")
	productpage := sim.Call{Principal: "cluster.local/ns/" + ns + "/sa/bookinfo-productpage", Namespace: ns, Port: 9080}

	r, out := whyJSON(t, "productpage", "reviews", "-n", ns, "--path", "/reviews/0")
	if r.Verdict != "allowed" || r.DecidedBy != nil {
		t.Errorf("no policy: %+v\n%s", r, out)
	}
	text := mustSucceed(t, plugin(t, cluster, "mesh-why", "productpage", "svc/reviews", "-n", ns, "--path", "/reviews/0"))
	for _, want := range []string{"sidecar: its Envoy routes the request and sends it as " + productpage.Principal, "verdict: allowed: no ALLOW policy applies"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("why says nothing of %q:\n%s", want, text)
		}
	}

	apply(t, fmt.Sprintf(whyPolicies, ns))
	for _, tc := range []struct {
		args              []string
		call              sim.Call
		workload          string
		verdict, response string
		decided           string
	}{
		{[]string{"productpage", "reviews", "--method", "POST", "--path", "/reviews/0"}, withRequest(productpage, "POST", "/reviews/0"), "reviews", "denied", "403", "AuthorizationPolicy " + ns + "/no-post rule 0"},
		{[]string{"productpage", "reviews", "--path", "/reviews/0"}, withRequest(productpage, "GET", "/reviews/0"), "reviews", "allowed", "200", ""},
		{[]string{"productpage", "details", "--path", "/details/0"}, withRequest(productpage, "GET", "/details/0"), "details", "allowed", "200", "AuthorizationPolicy " + ns + "/details-callers rule 1"},
		{[]string{"reviews", "details", "--path", "/details/0"}, sim.Call{Principal: "cluster.local/ns/" + ns + "/sa/bookinfo-reviews", Namespace: ns, Method: "GET", Path: "/details/0", Port: 9080}, "details", "denied", "403", ""},
	} {
		r, out := whyJSON(t, append(tc.args, "-n", ns)...)
		if r.Verdict != tc.verdict || r.Response != tc.response || r.decided() != tc.decided {
			t.Errorf("why %s: %s %s by %q, want %s %s by %q\n%s", strings.Join(tc.args, " "), r.Verdict, r.Response, r.decided(), tc.verdict, tc.response, tc.decided, out)
		}
		oracle := sim.Authorize(clusterPolicies(t), whyWorkload(t, ns, tc.workload), tc.call)
		if oracle != (tc.verdict == "allowed") {
			t.Errorf("why %s says %s; the simulator's reading says allowed=%v", strings.Join(tc.args, " "), r.Verdict, oracle)
		}
	}
	r, out = whyJSON(t, "reviews", "details", "-n", ns, "--path", "/details/0")
	if len(r.Matched) != 0 || !strings.Contains(strings.Join(r.Applied, ","), ns+"/details-callers") {
		t.Errorf("denied with no ALLOW rule matching: matched %v, applied %v\n%s", r.Matched, r.Applied, out)
	}

	// Plaintext to a STRICT namespace, and a subset no DestinationRule defines.
	apply(t, fmt.Sprintf(whyStrictAndRoute, ns))
	r, out = whyJSON(t, "outside", "svc/productpage", "-n", ns)
	if r.Verdict != "denied" || r.Response != "connection reset" || r.decided() != "PeerAuthentication "+ns+"/default" {
		t.Errorf("plaintext under STRICT: %+v\n%s", r, out)
	}
	r, out = whyJSON(t, "productpage", "ratings", "-n", ns)
	if r.Verdict != "unroutable" || r.Response != "503 NC" {
		t.Errorf("a subset no DestinationRule defines: %+v\n%s", r, out)
	}
	for _, bad := range [][]string{{"productpage"}, {"productpag", "reviews"}, {"productpage", "svc/reviewz"}, {"productpage", "reviews", "--port", "70000"}} {
		if r := plugin(t, cluster, append([]string{"mesh", "why"}, append(bad, "-n", ns)...)...); r.code == 0 || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("why %v: want a clear error, got\n%s", bad, r)
		}
	}
}

func withRequest(c sim.Call, method, path string) sim.Call {
	c.Method, c.Path = method, path
	return c
}

// whyWorkload is the first pod of app in ns, for the simulator.
func whyWorkload(t *testing.T, ns, app string) *sim.Workload {
	t.Helper()
	r := mustSucceed(t, kubectl(t, "get", "pods", "-n", ns, "-l", "app="+app, "-o", "json"))
	var pods corev1.PodList
	if err := json.Unmarshal([]byte(r.stdout), &pods); err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods of %s: %v", app, err)
	}
	p := pods.Items[0]
	return &sim.Workload{Namespace: ns, Name: p.Name, Labels: p.Labels, Sidecar: true, ServiceAccount: p.Spec.ServiceAccountName}
}

const whyPolicies = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-post, namespace: %[1]s}
spec:
  action: DENY
  selector: {matchLabels: {app: reviews}}
  rules: [{to: [{operation: {methods: [POST]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: details-callers, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: details}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-ratings]}}]
  - from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-productpage]}}]
    to: [{operation: {methods: [GET]}}]
`

const whyStrictAndRoute = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: %[1]s}
spec: {mtls: {mode: STRICT}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: %[1]s}
spec:
  hosts: [ratings]
  http: [{route: [{destination: {host: ratings, subset: v9}}]}]
`

// In ambient mode a targetRefs policy on the Service is enforced by its waypoint, which
// ignores selector policies; why names the waypoint and the rule.
func TestWhyAmbientWaypoint(t *testing.T) {
	t.Parallel()
	ns := ambientBookinfo(t, "why-ambient")
	apply(t, fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-no-delete, namespace: %[1]s}
spec:
  action: DENY
  targetRefs: [{kind: Service, group: "", name: reviews}]
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
`, ns))
	r, out := whyJSON(t, "productpage", "reviews", "-n", ns, "--method", "DELETE", "--path", "/reviews/0")
	if r.Verdict != "denied" || r.EnforcedAt != "waypoint" || r.decided() != "AuthorizationPolicy "+ns+"/reviews-no-delete rule 0" {
		t.Errorf("DELETE through the waypoint: %+v\n%s", r, out)
	}
	r, out = whyJSON(t, "productpage", "reviews", "-n", ns, "--path", "/reviews/0")
	if r.Verdict != "allowed" {
		t.Errorf("GET through the waypoint: %+v\n%s", r, out)
	}
}
