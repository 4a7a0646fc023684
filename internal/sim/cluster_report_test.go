package sim

import (
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	securityapi "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// sendReviews sends n requests from east's productpage to reviews, as the simulator's traffic
// does, and returns the simulator whose Metrics hold the reports.
func sendReviews(t *testing.T, meshes []*Mesh, n int) *Simulator {
	t.Helper()
	s := &Simulator{Metrics: NewMetrics(), rng: rand.New(rand.NewPCG(5, 6))}
	for range n {
		s.send(meshes[1], Entry{Cluster: "east", Namespace: "default", App: "productpage", Service: "reviews.default"})
	}
	return s
}

// scrape is what cluster's Prometheus reads from a pod's proxy.
func scrape(m *Metrics, cluster, pod string) string {
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", MetricsPath(cluster, "default", pod), nil))
	return rec.Body.String()
}

// requestsLine is the istio_requests_total line holding every label given (name="value").
func requestsLine(body string, labels ...string) string {
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "istio_requests_total{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(line, l)
		}
		if all {
			return line
		}
	}
	return ""
}

// A cross-cluster call is reported by the caller's proxy into the caller's cluster and by the
// callee's into the callee's, both labelled with the two cluster IDs; the callee knows the
// caller's identity (mutual TLS through the east-west gateway).
func TestCrossClusterReports(t *testing.T) {
	s := sendReviews(t, twoClusters([]*networkingv1.VirtualService{allToV3()}, nil, nil), 50)
	clusters := `source_cluster="east"`
	dstCluster := `destination_cluster="west"`
	src := requestsLine(scrape(s.Metrics, "east", "productpage-v1-0"), `reporter="source"`, clusters, dstCluster, `destination_workload="reviews-v3"`, `response_code="200"`)
	if !strings.HasSuffix(src, " 50") {
		t.Errorf("east's productpage proxy: %q, want 50 source reports east -> west", src)
	}
	dst := requestsLine(scrape(s.Metrics, "west", "reviews-v3-0"), `reporter="destination"`, clusters, dstCluster,
		`source_principal="spiffe://cluster.local/ns/default/sa/bookinfo-productpage"`, `connection_security_policy="mutual_tls"`)
	if !strings.HasSuffix(dst, " 50") {
		t.Errorf("west's reviews-v3 proxy: %q, want 50 destination reports with the caller's identity", dst)
	}
	if body := scrape(s.Metrics, "east", "reviews-v3-0") + scrape(s.Metrics, "west", "productpage-v1-0"); strings.Contains(body, "istio_requests_total{") {
		t.Errorf("a proxy reported into the other cluster:\n%s", body)
	}
	// The path without a cluster is DefaultCluster's, where nothing ran.
	rec := httptest.NewRecorder()
	s.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/stats/prometheus/default/productpage-v1-0", nil))
	if strings.Contains(rec.Body.String(), "istio_requests_total{") {
		t.Error("the default cluster's path served east's reports")
	}
}

// The destination's proxy enforces its own cluster's AuthorizationPolicies.
func TestAuthorizationIsTheDestinationsCluster(t *testing.T) {
	denyAll := []*securityv1.AuthorizationPolicy{policy("default", "deny-all", securityapi.AuthorizationPolicy_ALLOW, map[string]string{"app": "reviews"})}
	vs := []*networkingv1.VirtualService{allToV3()}
	tests := []struct {
		name           string
		eastAP, westAP []*securityv1.AuthorizationPolicy
		code           string
	}{
		{"deny-all in west, where reviews-v3 runs", nil, denyAll, `response_code="403"`},
		{"deny-all in east only", denyAll, nil, `response_code="200"`},
	}
	for _, tt := range tests {
		s := sendReviews(t, twoClusters(vs, tt.eastAP, tt.westAP), 10)
		if line := requestsLine(scrape(s.Metrics, "east", "productpage-v1-0"), `reporter="source"`, tt.code); !strings.HasSuffix(line, " 10") {
			t.Errorf("%s: productpage saw %q, want 10 with %s", tt.name, line, tt.code)
		}
	}
}

// A mesh of one cluster is reported as Istio's default cluster, on the paths without one.
func TestOneClusterIsKubernetes(t *testing.T) {
	meshes := twoClusters(nil, nil, nil)
	m := NewMesh(&Snapshot{Pods: meshes[0].Snapshot.Pods, Services: meshes[0].Services})
	s := &Simulator{Metrics: NewMetrics(), rng: rand.New(rand.NewPCG(7, 8))}
	s.send(m, Entry{Namespace: "default", App: "productpage", Service: "reviews.default"})
	rec := httptest.NewRecorder()
	s.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/stats/prometheus/default/productpage-v1-0", nil))
	if requestsLine(rec.Body.String(), `source_cluster="Kubernetes"`, `destination_cluster="Kubernetes"`) == "" {
		t.Errorf("one cluster's reports:\n%s", rec.Body.String())
	}
}
