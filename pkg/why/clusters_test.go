package why

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var (
	east = ClusterRef{ID: "cluster-east", Context: "east"}
	west = ClusterRef{ID: "cluster-west", Context: "west"}
)

// onlyRatings lets in ratings alone: productpage is denied wherever it applies.
const onlyRatings = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-ratings, namespace: shop}
spec: {rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/bookinfo-ratings]}}]}]}`

const fromProductpage = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: from-productpage, namespace: shop}
spec: {rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/bookinfo-productpage]}}]}]}`

func clusterText(t *testing.T, r ClustersReport) string {
	t.Helper()
	var b strings.Builder
	if err := WriteClustersText(&b, r, Request{Method: "GET", Path: "/", Port: 9080}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func verdicts(r ClustersReport) string {
	var out []string
	for _, p := range r.Paths {
		out = append(out, p.Where()+": "+p.Report.Verdict)
	}
	return strings.Join(out, ", ")
}

// An ALLOW policy in west alone: the caller is allowed in west, denied in east, and the
// report says west's policy is what east lacks.
func TestExplainClustersSaysWhichPolicyAClusterLacks(t *testing.T) {
	e, w := bookinfo(t, false), bookinfo(t, false)
	e.AuthorizationPolicies = append(e.AuthorizationPolicies, obj(t, onlyRatings))
	w.AuthorizationPolicies = append(w.AuthorizationPolicies, obj(t, onlyRatings), obj(t, fromProductpage))
	r := ExplainClusters([]ClusterInput{{ClusterRef: east, Input: e}, {ClusterRef: west, Input: w}})
	text := clusterText(t, r)
	if got, want := verdicts(r), "in cluster-east: denied, in cluster-west: allowed"; got != want {
		t.Errorf("paths %q, want %q:\n%s", got, want, text)
	}
	for _, want := range []string{
		"=== cluster cluster-east (context east), callers in cluster-east and cluster-west alike ===",
		"the clusters differ: denied (403 at the sidecar) in cluster-east; allowed in cluster-west\n",
		"because cluster-east lacks AuthorizationPolicy shop/from-productpage, which decides in cluster-west (allowed)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report does not say %q:\n%s", want, text)
		}
	}
	if !r.Differ {
		t.Error("Differ is false")
	}
}

// The same policies everywhere: one verdict, said once; no difference.
func TestExplainClustersAgreeing(t *testing.T) {
	r := ExplainClusters([]ClusterInput{{ClusterRef: east, Input: bookinfo(t, false)}, {ClusterRef: west, Input: bookinfo(t, false)}})
	if text := clusterText(t, r); r.Differ || !strings.Contains(text, "every cluster agrees: allowed") {
		t.Errorf("want agreement:\n%s", text)
	}
	if data, _ := json.Marshal(r); !strings.Contains(string(data), `"differ":false,"differences":[],"notes":[]`) {
		t.Errorf("JSON of an agreement: %s", data)
	}
}

// The caller runs in east only, the destination's pods in west only: one path, east's caller
// and routes, west's pods and policies; east's Service without pods is no 503.
func TestExplainClustersAcrossClusters(t *testing.T) {
	e, w := bookinfo(t, false), bookinfo(t, false)
	e.Pods = nil
	w.Source.Pods = nil
	w.AuthorizationPolicies = append(w.AuthorizationPolicies, obj(t, onlyRatings))
	r := ExplainClusters([]ClusterInput{
		{ClusterRef: east, Input: e},
		{ClusterRef: west, Input: w, NoSource: "no running pod of productpage-v1 in namespace shop"},
	})
	text := clusterText(t, r)
	if got, want := verdicts(r), "from cluster-east to cluster-west: denied"; got != want {
		t.Errorf("paths %q, want %q:\n%s", got, want, text)
	}
	if !strings.Contains(text, "note: cluster-east (context east) runs no ready pod of the destination: its callers' requests are served in the other clusters") {
		t.Errorf("the report does not say east serves none:\n%s", text)
	}
}

// A version with no pod in one cluster is served by the other's: not a 503 there.
func TestExplainClustersVersionServedElsewhere(t *testing.T) {
	e, w := bookinfo(t, false), bookinfo(t, false)
	e.VirtualServices = append(e.VirtualServices, reviewsRoute(t, `[{route: [{destination: {host: reviews, subset: v1}, weight: 50}, {destination: {host: reviews, subset: v2}, weight: 50}]}]`))
	w.VirtualServices = e.VirtualServices
	w.Pods = []corev1.Pod{w.Pods[0]} // west runs v1 only
	r := ExplainClusters([]ClusterInput{{ClusterRef: east, Input: e}, {ClusterRef: west, Input: w}})
	text := clusterText(t, r)
	if strings.Contains(text, "503") || r.Differ {
		t.Errorf("a version in east only reads as a 503 in west:\n%s", text)
	}
	if !strings.Contains(text, "no ready pod in this cluster: served by the other clusters' pods") {
		t.Errorf("the report does not say v2 is served elsewhere:\n%s", text)
	}
}

// Ends resolved per cluster: what a cluster lacks is said, not an error.
func TestResolveEnds(t *testing.T) {
	in := bookinfo(t, false)
	in.Service = nil
	in.Services = nil
	noSource, noDestination := ResolveEnds(&in, Ref{Name: "ratings", Namespace: "shop"}, Ref{Name: "details", Namespace: "shop"}, in.Pods, nil)
	if noSource != "no running pod of ratings in namespace shop" || noDestination != "no Service and no running workload details in namespace shop" {
		t.Errorf("got %q, %q", noSource, noDestination)
	}
	noSource, noDestination = ResolveEnds(&in, Ref{Name: "reviews", Namespace: "shop"}, Ref{Name: "reviews", Namespace: "shop"}, in.Pods, nil)
	if noSource != "" || noDestination != "" {
		t.Errorf("got %q, %q", noSource, noDestination)
	}
}

// The same policy, written otherwise in one cluster, is named as differing; routes that
// differ between callers' clusters are named when no policy tells.
func TestExplainClustersNamesWhatDiffers(t *testing.T) {
	e, w := bookinfo(t, false), bookinfo(t, false)
	e.AuthorizationPolicies = append(e.AuthorizationPolicies, obj(t, fromProductpage))
	w.AuthorizationPolicies = append(w.AuthorizationPolicies, obj(t, strings.Replace(fromProductpage, "bookinfo-productpage", "bookinfo-ratings", 1)))
	text := clusterText(t, ExplainClusters([]ClusterInput{{ClusterRef: east, Input: e}, {ClusterRef: west, Input: w}}))
	if !strings.Contains(text, "because AuthorizationPolicy shop/from-productpage differs between cluster-east and cluster-west") {
		t.Errorf("the report does not name the differing policy:\n%s", text)
	}

	e, w = bookinfo(t, false), bookinfo(t, false)
	e.Pods = nil // reviews runs in west only: east's caller takes east's routes there
	e.VirtualServices = append(e.VirtualServices, reviewsRoute(t, `[{match: [{uri: {prefix: /admin}}], route: [{destination: {host: reviews, subset: v1}}]}]`))
	text = clusterText(t, ExplainClusters([]ClusterInput{{ClusterRef: east, Input: e}, {ClusterRef: west, Input: w}}))
	for _, want := range []string{"not routable (404 NR) from cluster-east to cluster-west", "because the callers' clusters route it differently: ", "cluster-east: virtualservice shop/reviews none of its 1 http routes matches"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report does not say %q:\n%s", want, text)
		}
	}
}

// A version ready in no cluster is Envoy's 503 in each, not served elsewhere.
func TestExplainClustersVersionReadyNowhere(t *testing.T) {
	e, w := bookinfo(t, false), bookinfo(t, false)
	e.VirtualServices = append(e.VirtualServices, reviewsRoute(t, `[{route: [{destination: {host: reviews, subset: v3}}]}]`))
	w.VirtualServices = e.VirtualServices
	r := ExplainClusters([]ClusterInput{{ClusterRef: east, Input: e}, {ClusterRef: west, Input: w}})
	if got, want := verdicts(r), "in cluster-east: unroutable, in cluster-west: unroutable"; got != want || r.Paths[0].Report.Response != "503 UH" {
		t.Errorf("paths %q, want %q (503 UH):\n%s", got, want, clusterText(t, r))
	}
}
