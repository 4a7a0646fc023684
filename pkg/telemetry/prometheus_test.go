package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

// fakeAPIServer answers PromQL at the service-proxy path of one service, as the API server
// forwards it to Prometheus, and counts the queries.
func fakeAPIServer(t *testing.T, proxyPath string, queries *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, proxyPath+"/api/v1/query") {
			http.Error(w, "unexpected path "+r.URL.Path, http.StatusNotFound)
			return
		}
		queries.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func promService(ns, name string, port int32, labels map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: port}}}}
}

var prometheusLabel = map[string]string{"app.kubernetes.io/name": "prometheus"}

func TestLocateFindsPrometheusInTheCluster(t *testing.T) {
	t.Setenv(EnvPrometheusURL, "")
	// A tenant's Service, named and labelled as Prometheus, is in every cluster below.
	tenant := promService("tenant", "prometheus", 9090, prometheusLabel)
	tests := []struct {
		name      string
		namespace string // --prometheus-namespace
		services  []*corev1.Service
		path      string
		found     string
	}{
		{"istio-system/prometheus", "", []*corev1.Service{promService("istio-system", "prometheus", 9090, nil), tenant},
			"/api/v1/namespaces/istio-system/services/prometheus:9090/proxy", "istio-system/prometheus port 9090, through the API server's proxy"},
		{"labelled in istio-system", "", []*corev1.Service{promService("istio-system", "prom-b", 80, prometheusLabel), promService("istio-system", "prom-a", 80, prometheusLabel), tenant},
			"/api/v1/namespaces/istio-system/services/prom-a:80/proxy", "istio-system/prom-a port 80, through the API server's proxy"},
		{"the namespace named", "monitoring", []*corev1.Service{promService("monitoring", "prom-server", 80, map[string]string{"app": "prometheus"}), promService("istio-system", "prometheus", 9090, nil), tenant},
			"/api/v1/namespaces/monitoring/services/prom-server:80/proxy", "monitoring/prom-server port 80, through the API server's proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var queries atomic.Int32
			srv := fakeAPIServer(t, tt.path, &queries)
			var found []string
			l := Locator{Namespace: tt.namespace, Services: kubefake.NewClientset(objects(tt.services)...).CoreV1(), RESTConfig: &rest.Config{Host: srv.URL},
				Found: func(s string) { found = append(found, s) }}
			prom, err := l.Locate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found[0] != tt.found {
				t.Errorf("found = %q, want %q", found, tt.found)
			}
			samples, err := prom.Fetch(context.Background(), "5m", Scope{}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if samples.Queries != 5 || queries.Load() != 5 {
				t.Errorf("%d queries planned, %d sent; want 5", samples.Queries, queries.Load())
			}
		})
	}
}

func objects(services []*corev1.Service) []runtime.Object {
	out := make([]runtime.Object, len(services))
	for i, s := range services {
		out[i] = s
	}
	return out
}

// Only istio-system (or the namespace named) is searched: a tenant's Service named and
// labelled as Prometheus is never used, whatever it is called.
func TestLocateIgnoresOtherNamespaces(t *testing.T) {
	t.Setenv(EnvPrometheusURL, "")
	clientset := kubefake.NewClientset(promService("tenant", "prometheus", 9090, prometheusLabel), promService("shop", "metrics", 9090, map[string]string{"app": "prometheus"}))
	l := Locator{Services: clientset.CoreV1(), RESTConfig: &rest.Config{Host: "https://127.0.0.1:6443"}, Found: func(s string) { t.Errorf("found %s", s) }}
	_, err := l.Locate(context.Background())
	for _, want := range []string{"no Prometheus found", "--prometheus-url (not given)", "$MESH_PROMETHEUS_URL (not set)", "in namespace istio-system for service prometheus", "app.kubernetes.io/name=prometheus", "pass --prometheus-url, or --prometheus-namespace"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	for _, action := range clientset.Actions() {
		if action.GetNamespace() != "istio-system" {
			t.Errorf("asked about namespace %q: %s", action.GetNamespace(), action)
		}
	}
	l.Namespace = "tenant" // unless the user names it
	l.Found = nil
	if prom, err := l.Locate(context.Background()); err != nil || prom.Where != "service tenant/prometheus (through the API server's proxy)" {
		t.Errorf("--prometheus-namespace tenant: %v %v", prom, err)
	}
}

func TestLocatePrefersFlagThenEnvironment(t *testing.T) {
	t.Setenv(EnvPrometheusURL, "http://env:9090")
	prom, err := Locator{FlagURL: "http://flag:9090"}.Locate(context.Background())
	if err != nil || prom.Where != "--prometheus-url http://flag:9090" {
		t.Errorf("flag: %v %v", prom, err)
	}
	prom, err = Locator{}.Locate(context.Background())
	if err != nil || prom.Where != "MESH_PROMETHEUS_URL=http://env:9090" {
		t.Errorf("environment: %v %v", prom, err)
	}
}

// Each way a query can fail says what happened: no answer in time, an error answer (with
// Prometheus's code and words), something else answering, nobody answering.
func TestQueryFailuresSayWhatHappened(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	handlers := map[string]http.HandlerFunc{
		"hangs": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-hang:
			}
		},
		"overloaded": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"too many queries"}`))
		},
		"a proxy's page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		},
	}
	want := map[string][]string{
		"hangs":          {"did not answer within 50ms (--request-timeout)"},
		"overloaded":     {"answered with an error (unavailable, HTTP 503 Service Unavailable): too many queries"},
		"a proxy's page": {"answered HTTP 502 Bad Gateway, not its API's JSON", "502 Bad Gateway</body>"},
	}
	for name, handler := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(handler)
			defer srv.Close()
			prom, err := Locator{FlagURL: srv.URL, Timeout: 50 * time.Millisecond}.Locate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			_, err = prom.Query(context.Background(), "up", time.Now())
			for _, w := range want[name] {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
		})
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nobody listens there any more
	prom, _ := Locator{FlagURL: srv.URL, Timeout: time.Second}.Locate(context.Background())
	_, err := prom.Query(context.Background(), `sum by (reporter) (rate(istio_requests_total[5m]))`, time.Now())
	if want := "cannot reach Prometheus at --prometheus-url " + srv.URL + ": connection refused: nothing listens on that address and port"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("unreachable: %v, want it to start with %q", err, want)
	}
	// Neither the URL-encoded query nor Go's words for the dial.
	if err != nil && (strings.Contains(err.Error(), "query=") || strings.Contains(err.Error(), "dial tcp")) {
		t.Errorf("unreachable: %v", err)
	}
}
