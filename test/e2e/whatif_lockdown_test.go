//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// lockdown NS --what-if replays lockdown's own plan: the edges it lists as newly denied are
// exactly those the simulator finds cut once the same lockdown is really written, and it
// writes nothing itself. Lockdown would stop here without --force (a plaintext caller): the
// replay is printed all the same, and the refusal is the exit error.
func TestWhatIfLockdownListsWhatLockdownCuts(t *testing.T) {
	t.Parallel()
	ns := exposedBookinfo(t, "whatif-lockdown")
	apply(t, fmt.Sprintf(reviewsCallers, ns))
	ingress := strings.Split(testcluster.IngressPrincipal, "/")
	traffic := append(sidecarTraffic(ns), seen{srcWorkload: "istio-ingressgateway", srcSA: ingress[4], srcNS: ingress[2], dst: "productpage-v1", service: "productpage"})
	url := stubPrometheus(t, ns, traffic)
	beforeAPs, beforePAs, versions := securityState(t, ns)

	report, r := whatIf(t, "mesh", "lockdown", ns, "--what-if", "--prometheus-url", url)
	if r.code != 1 || !strings.Contains(r.stderr, "error: without --force, lockdown "+ns+" would stop before writing anything (the replay above is of the plan --force would write):\nSTRICT mTLS would reject traffic") {
		t.Errorf("want exit 1 and lockdown's refusal after the replay\n%s", r)
	}
	if _, _, now := securityState(t, ns); now != versions {
		t.Errorf("lockdown --what-if wrote: resource versions %q, then %q", versions, now)
	}

	mustSucceed(t, plugin(t, cluster, "mesh", "lockdown", ns, "--force", "--prometheus-url", url))
	afterAPs, afterPAs, _ := securityState(t, ns)
	oracle := simulatedChanges(traffic, sidecarAllowed(meshWorkloads(t, ns)), beforeAPs, afterAPs, beforePAs, afterPAs)
	want := []string{"newly-denied unknown (plaintext: no identity) -> productpage-v1"}
	if got := report.listed(); !slices.Equal(got, oracle) || !slices.Equal(got, want) {
		t.Errorf("what-if lists %q; the simulator finds lockdown cut %q; want %q\n%s", got, oracle, want, r)
	}
	for _, e := range report.Edges {
		if e.DecidedBy == nil || e.DecidedBy.Kind != "PeerAuthentication" || e.DecidedBy.Name != "default" || e.EnforcedAt != "sidecar" {
			t.Errorf("plaintext cut off by %+v at %s, want PeerAuthentication default at the sidecar", e.DecidedBy, e.EnforcedAt)
		}
	}
}

// reviewsAtWaypoint admits to Service reviews, at its waypoint, only the ingress gateway of
// the namespace; and STRICT for the namespace.
const reviewsAtWaypoint = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-gateway-only, namespace: %[1]s}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  rules: [{from: [{source: {principals: [cluster.local/ns/%[1]s/sa/bookinfo-gateway-istio]}}]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: %[1]s}
spec: {mtls: {mode: STRICT}}
`

// In ambient mode a policy that targets the Service decides at its waypoint, which reports
// the backend's version Service (reviews-v1) where productpage asked for reviews; STRICT cuts
// the plaintext client at ztunnel. The waypoint's own hop to reviews is replayed with its
// caller, not listed. The simulator's waypoint and ztunnel judge the change once applied.
func TestWhatIfAmbient(t *testing.T) {
	t.Parallel()
	ns := ambientBookinfo(t, "whatif-ambient")
	traffic := []seen{
		{reporter: "waypoint", srcWorkload: "productpage-v1", srcSA: "bookinfo-productpage", srcNS: ns, dst: "reviews-v1", service: "reviews-v1"},
		{srcWorkload: "productpage-v1", srcSA: "bookinfo-productpage", srcNS: ns, dst: "details-v1", service: "details", protocol: "tcp"},
		{srcWorkload: "bookinfo-gateway-istio", srcSA: "bookinfo-gateway-istio", srcNS: ns, dst: "productpage-v1", service: "productpage", protocol: "tcp"},
		{dst: "productpage-v1", service: "productpage", protocol: "tcp"},
	}
	carried := seen{srcWorkload: "waypoint", srcSA: "waypoint", srcNS: ns, dst: "reviews-v1", service: "reviews-v1", protocol: "tcp"}
	url := stubPrometheus(t, ns, append(slices.Clone(traffic), carried))
	beforeAPs, beforePAs, _ := securityState(t, ns)

	change := writeChange(t, fmt.Sprintf(reviewsAtWaypoint, ns))
	report, r := whatIf(t, "mesh", "what-if", "-f", change, "--prometheus-url", url)
	mustSucceed(t, r)
	mustSucceed(t, kubectl(t, "apply", "-f", change))
	afterAPs, afterPAs, _ := securityState(t, ns)
	oracle := simulatedChanges(traffic, ambientAllowed(t, ns), beforeAPs, afterAPs, beforePAs, afterPAs)
	want := []string{"newly-denied unknown (plaintext: no identity) -> productpage-v1", "newly-denied whatif-ambient/productpage-v1 -> reviews-v1"}
	if got := report.listed(); !slices.Equal(got, oracle) || !slices.Equal(got, want) {
		t.Errorf("what-if lists %q; the simulator, once applied, %q; want %q\n%s", got, oracle, want, r)
	}
	at := map[string]string{}
	for _, e := range report.Edges {
		at[e.Destination.Workload] = e.EnforcedAt
	}
	if at["reviews-v1"] != "waypoint" || at["productpage-v1"] != "ztunnel" {
		t.Errorf("enforced at %v, want reviews-v1 at the waypoint, productpage-v1 at ztunnel", at)
	}
}

// ambientAllowed is the simulator's verdict on an edge in ambient ns: through the waypoint
// (Service reviews), then the backend's ztunnel seeing the waypoint; else ztunnel alone, where
// STRICT refuses plaintext.
func ambientAllowed(t *testing.T, ns string) func(seen, []*securityv1.AuthorizationPolicy, []*securityv1.PeerAuthentication) bool {
	workloads := map[string]*sim.Workload{}
	for _, dst := range []string{"reviews-v1", "details-v1", "productpage-v1"} {
		workloads[dst] = meshWorkload(t, ns, dst, true)
	}
	waypoint := &sim.Workload{Namespace: ns, Name: "waypoint", Waypoint: true, ServiceAccount: "waypoint", Labels: map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"}}
	reviews := &corev1.Service{}
	reviews.Name, reviews.Namespace = "reviews", ns
	return func(e seen, aps []*securityv1.AuthorizationPolicy, pas []*securityv1.PeerAuthentication) bool {
		w := workloads[e.dst]
		call := sim.Call{Method: "GET", Path: "/", Port: 9080}
		if e.mtls() {
			call.Principal, call.Namespace = "cluster.local/ns/"+e.srcNS+"/sa/"+e.srcSA, e.srcNS
		}
		if e.reporter == "waypoint" {
			hop := sim.Call{Principal: "cluster.local/ns/" + ns + "/sa/waypoint", Namespace: ns, Port: 9080}
			return sim.AuthorizeAtWaypoint(aps, reviews, waypoint, call) && sim.AuthorizeL4(aps, w, hop)
		}
		if !e.mtls() && sim.EffectiveMTLS(pas, w, 9080) == sim.Strict {
			return false
		}
		return sim.AuthorizeL4(aps, w, call)
	}
}

// deploy/rbac.yaml's kubectl-mesh-what-if, bound cluster-wide to a user who has nothing else,
// reads all what-if reads (no forbidden request, nothing left unread); lockdown --what-if needs
// lockdown's reader alone. Both users are impersonated by the admin, so that no other test's
// bindings lend them anything.
func TestWhatIfDocumentedRBAC(t *testing.T) {
	t.Parallel()
	ns := bookinfoNamespace(t, "whatif-rbac")
	url := stubPrometheus(t, ns, sidecarTraffic(ns))
	applyDocumentedRBAC(t, binding("whatif-reader", "kubectl-mesh-what-if", ""), binding("whatif-planner", "kubectl-mesh-lockdown-reader", ""))
	for _, tc := range []struct {
		user string
		args []string
		code int
	}{
		{"whatif-reader", []string{"mesh", "what-if", "-f", writeChange(t, fmt.Sprintf(tighter, ns)), "-n", ns}, 0},
		{"whatif-reader", []string{"mesh", "what-if", "--delete", "peerauthentication/default", "-n", "istio-system"}, 1}, // mesh-wide: every namespace read
		{"whatif-planner", []string{"mesh", "lockdown", ns, "--what-if"}, 1},                                              // the plaintext caller stops it
	} {
		r := plugin(t, cluster, append(tc.args, "--as", tc.user, "--prometheus-url", url)...)
		if r.code != tc.code || strings.Contains(r.stderr, "forbidden") || strings.Contains(r.stderr, "may not") || strings.Contains(r.stderr, "cannot") {
			t.Errorf("%v as %s: want exit %d and nothing forbidden\n%s", tc.args, tc.user, tc.code, r)
		}
	}
}
