package whatif

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// loadCluster reads testdata/NAME.in.yaml: the cluster, and the policies in force.
func loadCluster(t testing.TB, name string) (Cluster, Policies) {
	t.Helper()
	c := Cluster{Mesh: istio.DefaultMeshConfig(), NamespaceLabels: map[string]map[string]string{}}
	var p Policies
	for _, obj := range golden.Objects(t, filepath.Join("testdata", name+".in.yaml")) {
		switch obj.GetKind() {
		case "Namespace":
			c.NamespaceLabels[obj.GetName()] = obj.GetLabels()
		case "Pod":
			var pod corev1.Pod
			convert(t, obj, &pod)
			c.Pods = append(c.Pods, pod)
		case "Service":
			var svc corev1.Service
			convert(t, obj, &svc)
			c.Services = append(c.Services, svc)
		default:
			p = policiesWith(p, obj)
		}
	}
	return c, p
}

func convert(t testing.TB, obj *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		t.Fatal(err)
	}
}

func policiesWith(p Policies, objects ...*unstructured.Unstructured) Policies {
	for _, obj := range objects {
		list := p.of(obj.GetKind())
		*list = append(*list, obj)
	}
	return p
}

func objects(t testing.TB, yaml string) []*unstructured.Unstructured {
	t.Helper()
	out, err := manifest.Decode([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	webPrincipal         = "cluster.local/ns/shop/sa/web"
	productpagePrincipal = "cluster.local/ns/amb/sa/productpage"
)

// observed is what telemetry saw: into shop, web and a stranger and a plaintext client (both
// refused today) call api, web calls worker, api reads db over TCP; into amb, productpage calls reviews
// through the waypoint (whose hop to reviews ztunnel reports too), a plaintext client opens
// connections to productpage; and a workload that no longer runs was called. The waypoint
// names the Service its route sent to (reviews-v1), not the one productpage asked for.
var observed = []Observation{
	{Reporter: ReporterDestination, Source: Source{Workload: "web-v1", Namespace: "shop", Principal: webPrincipal}, Destination: Destination{Workload: "api-v1", Namespace: "shop", App: "api", Version: "v1", Service: "api"}, MTLS: true, Protocol: "http", Requests: 100},
	{Reporter: ReporterDestination, Source: Source{Workload: "stranger", Namespace: "other", Principal: "cluster.local/ns/other/sa/stranger"}, Destination: Destination{Workload: "api-v1", Namespace: "shop", App: "api", Version: "v1", Service: "api"}, MTLS: true, Protocol: "http", Requests: 10, Refused: 10},
	{Reporter: ReporterDestination, Destination: Destination{Workload: "api-v1", Namespace: "shop", App: "api", Version: "v1", Service: "api"}, Protocol: "http", Requests: 5, Refused: 5},
	{Reporter: ReporterDestination, Source: Source{Workload: "web-v1", Namespace: "shop", Principal: webPrincipal}, Destination: Destination{Workload: "worker-v1", Namespace: "shop", App: "worker", Version: "v1", Service: "worker"}, MTLS: true, Protocol: "http", Requests: 30},
	{Reporter: ReporterDestination, Source: Source{Workload: "api-v1", Namespace: "shop", Principal: "cluster.local/ns/shop/sa/api"}, Destination: Destination{Workload: "db-v1", Namespace: "shop", App: "db", Version: "v1", Service: "db"}, MTLS: true, Protocol: "tcp", Requests: 40},
	{Reporter: ReporterWaypoint, Source: Source{Workload: "productpage-v1", Namespace: "amb", Principal: productpagePrincipal}, Destination: Destination{Workload: "reviews-v1", Namespace: "amb", App: "reviews", Version: "v1", Service: "reviews-v1"}, MTLS: true, Protocol: "http", Requests: 80},
	{Reporter: ReporterDestination, Source: Source{Workload: "waypoint", Namespace: "amb", Principal: "cluster.local/ns/amb/sa/waypoint"}, Destination: Destination{Workload: "reviews-v1", Namespace: "amb", App: "reviews", Version: "v1", Service: "reviews"}, MTLS: true, Protocol: "tcp", Requests: 80},
	{Reporter: ReporterDestination, Destination: Destination{Workload: "productpage-v1", Namespace: "amb", App: "productpage", Version: "v1", Service: "productpage"}, Protocol: "tcp", Requests: 7},
	{Reporter: ReporterDestination, Source: Source{Workload: "web-v1", Namespace: "shop", Principal: webPrincipal}, Destination: Destination{Workload: "gone-v1", Namespace: "shop", App: "gone", Version: "v1"}, MTLS: true, Protocol: "http", Requests: 3},
}

// short is an edge in one line: change, caller -> destination, verdicts, what decides where.
func short(e Edge) string {
	return fmt.Sprintf("%s %s -> %s %s: %s -> %s, %s at %s", e.Change, e.Source, e.Destination, e.Protocol, e.Before, e.After, e.decider(), e.EnforcedAt)
}

// replayCases are changes to the fixture, each with the edges whose verdict it changes.
var replayCases = []struct {
	name    string
	before  string // objects added to the policies in force
	apply   string
	delete  []Ref
	want    []string
	wantErr string
}{
	{name: "a DENY rule breaks the caller it names, and only it",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: deny-web, namespace: shop},
  spec: {action: DENY, selector: {matchLabels: {app: api}}, rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]}}`,
		want: []string{"newly-denied shop/web-v1 -> shop/api-v1 http: allowed -> denied, authorizationpolicy shop/deny-web rule 0 at sidecar"}},
	{name: "deleting the only ALLOW policy lets in the callers it refused, plaintext included",
		delete: []Ref{{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "api-allow"}},
		want: []string{
			"newly-allowed other/stranger -> shop/api-v1 http: denied -> allowed, no policy applies at sidecar",
			"newly-allowed unknown (plaintext: no identity) -> shop/api-v1 http: denied -> allowed, no policy applies at sidecar",
		}},
	{name: "STRICT cuts off the plaintext caller, named by the PeerAuthentication",
		apply: `{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: default, namespace: amb}, spec: {mtls: {mode: STRICT}}}`,
		want:  []string{"newly-denied unknown (plaintext: no identity) -> amb/productpage-v1 tcp: allowed -> denied, peerauthentication amb/default at ztunnel"}},
	{name: "STRICT where ALLOW already refuses plaintext changes nothing",
		apply: `{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: default, namespace: shop}, spec: {mtls: {mode: STRICT}}}`},
	{name: "STRICT with the called port left PERMISSIVE keeps plaintext",
		apply: `{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: pp, namespace: amb},
  spec: {selector: {matchLabels: {app: productpage}}, mtls: {mode: STRICT}, portLevelMtls: {"9080": {mode: PERMISSIVE}}}}`},
	{name: "an older namespace-wide PeerAuthentication keeps deciding over a new one",
		apply:  `{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: zz-strict, namespace: shop}, spec: {mtls: {mode: STRICT}}}`,
		delete: []Ref{{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "api-allow"}},
		want: []string{
			"newly-allowed other/stranger -> shop/api-v1 http: denied -> allowed, no policy applies at sidecar",
			"newly-allowed unknown (plaintext: no identity) -> shop/api-v1 http: denied -> allowed, no policy applies at sidecar",
		}},
	{name: "a rule narrowed to some paths denies some of the requests",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: api-allow, namespace: shop},
  spec: {selector: {matchLabels: {app: api}}, rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}], to: [{operation: {paths: [/public/*]}}]}]}}`,
		want: []string{"newly-denied shop/web-v1 -> shop/api-v1 http: allowed -> partial, authorizationpolicy shop/api-allow rule 0 at sidecar"}},
	{name: "the same path rule before and after is no change",
		before: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: api-paths, namespace: shop},
  spec: {action: DENY, selector: {matchLabels: {app: api}}, rules: [{to: [{operation: {paths: [/admin]}}]}]}}`,
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: unrelated, namespace: shop},
  spec: {action: DENY, selector: {matchLabels: {app: db}}, rules: [{from: [{source: {namespaces: [other]}}]}]}}`},
	{name: "a policy that targets the Service decides at the waypoint",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: reviews-gw-only, namespace: amb},
  spec: {targetRefs: [{kind: Service, group: "", name: reviews}], rules: [{from: [{source: {principals: [cluster.local/ns/amb/sa/gateway]}}]}]}}`,
		want: []string{"newly-denied amb/productpage-v1 -> amb/reviews-v1 http: allowed -> denied, no ALLOW rule matches at waypoint"}},
	{name: "behind a waypoint ztunnel sees the waypoint, not the caller",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: reviews-l4, namespace: amb},
  spec: {selector: {matchLabels: {app: reviews}}, rules: [{from: [{source: {principals: [cluster.local/ns/amb/sa/productpage]}}]}]}}`,
		want: []string{"newly-denied amb/productpage-v1 -> amb/reviews-v1 http: allowed -> denied, no ALLOW rule matches at ztunnel"}},
	{name: "an ALLOW rule with HTTP fields never matches at ztunnel",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: pp-get, namespace: amb},
  spec: {selector: {matchLabels: {app: productpage}}, rules: [{to: [{operation: {methods: [GET]}}]}]}}`,
		want: []string{"newly-denied unknown (plaintext: no identity) -> amb/productpage-v1 tcp: allowed -> denied, no ALLOW rule matches at ztunnel"}},
	{name: "a dry-run policy is not enforced",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: deny-web, namespace: shop, annotations: {istio.io/dry-run: "true"}},
  spec: {action: DENY, selector: {matchLabels: {app: api}}, rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]}}`},
	{name: "a DENY of the root namespace applies in every namespace",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: deny-web, namespace: istio-system},
  spec: {action: DENY, rules: [{from: [{source: {namespaces: [shop]}}]}]}}`,
		want: []string{
			"newly-denied shop/web-v1 -> shop/api-v1 http: allowed -> denied, authorizationpolicy istio-system/deny-web rule 0 at sidecar",
			"newly-denied shop/api-v1 -> shop/db-v1 tcp: allowed -> denied, authorizationpolicy istio-system/deny-web rule 0 at sidecar",
			"newly-denied shop/web-v1 -> shop/worker-v1 http: allowed -> denied, authorizationpolicy istio-system/deny-web rule 0 at sidecar",
		}},
	{name: "mTLS DISABLE makes callers' sidecars send plaintext: principals no longer match",
		apply: `{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: api, namespace: shop}, spec: {selector: {matchLabels: {app: api}}, mtls: {mode: DISABLE}}}`,
		want:  []string{"newly-denied shop/web-v1 -> shop/api-v1 http: allowed -> denied, no ALLOW rule matches at sidecar"}},
	{name: "an ALLOW beside the existing one adds its callers (Istio ORs them)",
		apply: `{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: api-other, namespace: shop},
  spec: {selector: {matchLabels: {app: api}}, rules: [{from: [{source: {namespaces: [other]}}]}]}}`,
		want: []string{"newly-allowed other/stranger -> shop/api-v1 http: denied -> allowed, authorizationpolicy shop/api-other rule 0 at sidecar"}},
	{name: "deleting what does not exist is refused",
		delete:  []Ref{{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "nope"}},
		wantErr: "authorizationpolicy/nope in namespace shop not found: nothing to delete"},
}

func TestReplayListsExactlyTheEdgesWhoseVerdictChanges(t *testing.T) {
	for _, tc := range replayCases {
		t.Run(tc.name, func(t *testing.T) {
			c, before := loadCluster(t, "cluster")
			before = policiesWith(before, objects(t, tc.before)...)
			after, _, err := before.With(Edit{Apply: objects(t, tc.apply), Delete: tc.delete}, time.Now())
			if tc.wantErr != "" || err != nil {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			r := Replay(c, before, after, observed)
			var got []string
			for _, e := range r.Edges {
				got = append(got, short(e))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("edges:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if r.Replayed != 7 || len(r.Unresolved) != 1 || !strings.Contains(r.Unresolved[0], "shop/gone-v1") {
				t.Errorf("replayed %d, unresolved %q: want 7 replayed (the waypoint's own hop is its callers'), the gone workload unresolved", r.Replayed, r.Unresolved)
			}
		})
	}
}
