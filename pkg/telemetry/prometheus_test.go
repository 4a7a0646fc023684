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

func TestLocateFindsPrometheusInTheCluster(t *testing.T) {
	t.Setenv(EnvPrometheusURL, "")
	tests := []struct {
		name    string
		service *corev1.Service
		path    string
		where   string
	}{
		{"istio-system/prometheus", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: "istio-system"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 9090}}}},
			"/api/v1/namespaces/istio-system/services/prometheus:9090/proxy", "service istio-system/prometheus (through the API server's proxy)"},
		{"labelled elsewhere", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "prom-server", Namespace: "monitoring", Labels: map[string]string{"app.kubernetes.io/name": "prometheus"}}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
			"/api/v1/namespaces/monitoring/services/prom-server:80/proxy", "service monitoring/prom-server (through the API server's proxy)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var queries atomic.Int32
			srv := fakeAPIServer(t, tt.path, &queries)
			l := Locator{Services: kubefake.NewClientset(tt.service).CoreV1(), RESTConfig: &rest.Config{Host: srv.URL}}
			prom, err := l.Locate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if prom.Where != tt.where {
				t.Errorf("where = %q", prom.Where)
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

func TestLocateSaysWhereItLooked(t *testing.T) {
	t.Setenv(EnvPrometheusURL, "")
	l := Locator{Services: kubefake.NewClientset().CoreV1(), RESTConfig: &rest.Config{Host: "https://127.0.0.1:6443"}}
	_, err := l.Locate(context.Background())
	for _, want := range []string{"no Prometheus found", "--prometheus-url (not given)", "$MESH_PROMETHEUS_URL (not set)", "service prometheus in istio-system", "app.kubernetes.io/name=prometheus", "pass --prometheus-url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
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
	if _, err := prom.Query(context.Background(), "up", time.Now()); err == nil || !strings.HasPrefix(err.Error(), "cannot reach Prometheus at --prometheus-url "+srv.URL) {
		t.Errorf("unreachable: %v", err)
	}
}
