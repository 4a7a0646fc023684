package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

const password = "s3cret-pw"

// withCredentials is srv's URL with user info, as a user may pass it.
func withCredentials(srv *httptest.Server, path string) string {
	return strings.Replace(srv.URL, "http://", "http://admin:"+password+"@", 1) + path
}

// authorizations records the Authorization header of each request a server receives.
type authorizations struct {
	mu  sync.Mutex
	got []string
}

func (a *authorizations) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, r.Header.Get("Authorization"))
}

func (a *authorizations) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

// No message shows the password of --prometheus-url or $MESH_PROMETHEUS_URL, whatever fails.
func TestPrometheusErrorsHideURLCredentials(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	answers := map[string]http.HandlerFunc{
		"not JSON": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "login first", http.StatusUnauthorized) },
		"an error": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
		},
		"no answer in time": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-hang:
			}
		},
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	urls := map[string]string{"nobody listens": withCredentials(gone, ""), "bad URL": "htp://admin:" + password + "@prom:9090", "bad host": "http://admin:" + password + "@prom example:9090"}
	for name, handler := range answers {
		srv := httptest.NewServer(handler)
		defer srv.Close()
		urls[name] = withCredentials(srv, "/")
	}
	for name, raw := range urls {
		for _, via := range []string{"flag", "environment"} {
			t.Run(name+" by "+via, func(t *testing.T) {
				l := Locator{Timeout: 100 * time.Millisecond}
				if via == "flag" {
					t.Setenv(EnvPrometheusURL, "")
					l.FlagURL = raw
				} else {
					t.Setenv(EnvPrometheusURL, raw)
				}
				prom, err := l.Locate(context.Background())
				if err == nil {
					if strings.Contains(prom.Where, password) {
						t.Errorf("where: %s", prom.Where)
					}
					_, err = prom.Query(context.Background(), "up", time.Now())
				}
				if err == nil {
					t.Fatal("no error")
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("the error shows the password: %v", err)
				}
				if !strings.Contains(err.Error(), "xxxxx@") {
					t.Errorf("the error does not say which URL: %v", err)
				}
			})
		}
	}
}

// Links to Jaeger's UI, shown in tables and JSON, carry no credentials; errors neither.
func TestJaegerLinksAndErrorsHideURLCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	j, err := JaegerLocator{FlagURL: withCredentials(srv, "/jaeger/")}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if link, want := j.TraceURL("abc"), srv.URL+"/jaeger/trace/abc"; link != want {
		t.Errorf("link %s, want %s", link, want)
	}
	if _, err := j.Services(context.Background()); err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "--jaeger-url http://admin:xxxxx@") {
		t.Errorf("error: %v", err)
	}
	t.Setenv(EnvJaegerURL, "jaeger:16686 admin:"+password+"@x")
	if _, err := (JaegerLocator{}).Locate(context.Background()); err == nil || strings.Contains(err.Error(), password) {
		t.Errorf("bad URL: %v", err)
	}
}

// A URL's credentials go to its host alone: a redirect elsewhere is not followed, and the
// other host receives nothing; a redirect on the same host keeps them.
func TestDirectRedirectsKeepCredentialsOnTheirHost(t *testing.T) {
	var elsewhere authorizations
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.record(r) }))
	defer other.Close()
	var home authorizations
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		home.record(r)
		switch r.URL.Path {
		case "/moved/api/v1/query":
			http.Redirect(w, r, other.URL+"/api/v1/query", http.StatusFound)
		case "/here/api/v1/query":
			http.Redirect(w, r, "/api/v1/query", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		}
	}))
	defer srv.Close()

	prom, err := Locator{FlagURL: withCredentials(srv, "/here")}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prom.Query(context.Background(), "up", time.Now()); err != nil {
		t.Errorf("a redirect on the same host: %v", err)
	}
	prom, _ = Locator{FlagURL: withCredentials(srv, "/moved")}.Locate(context.Background())
	_, err = prom.Query(context.Background(), "up", time.Now())
	if got := elsewhere.all(); len(got) != 0 {
		t.Fatalf("the other host received %d requests, with Authorization %q", len(got), got)
	}
	otherHost := strings.TrimPrefix(other.URL, "http://")
	if err == nil || !strings.Contains(err.Error(), "redirect to another host, "+otherHost) || strings.Contains(err.Error(), password) {
		t.Errorf("error: %v", err)
	}
	for _, got := range home.all() {
		if !strings.HasPrefix(got, "Basic ") {
			t.Errorf("the URL's own host was asked without its credentials: %q", got)
		}
	}
}

// Through the API server's proxy, a redirect off the API server is not followed: the
// cluster's token never reaches the host it names.
func TestServiceProxyRedirectKeepsTheTokenOnTheAPIServer(t *testing.T) {
	var elsewhere authorizations
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.record(r) }))
	defer other.Close()
	apiServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/v1/query", http.StatusFound)
	}))
	defer apiServer.Close()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: "istio-system"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 9090}}}}
	l := Locator{Services: kubefake.NewClientset(svc).CoreV1(), RESTConfig: &rest.Config{Host: apiServer.URL, BearerToken: "cluster-token"}}
	t.Setenv(EnvPrometheusURL, "")
	prom, err := l.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = prom.Query(context.Background(), "up", time.Now())
	if got := elsewhere.all(); len(got) != 0 {
		t.Fatalf("the other host received %d requests, with Authorization %q", len(got), got)
	}
	want := "Prometheus at service istio-system/prometheus (through the API server's proxy) answered with a redirect to another host, " + strings.TrimPrefix(other.URL, "http://")
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "the cluster's credentials go to") {
		t.Errorf("error: %v\nwant: %s", err, want)
	}
}

// The API server's refusal to proxy says which permission to ask for.
func TestServiceProxyForbiddenNamesThePermission(t *testing.T) {
	apiServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"services \"tracing:80\" is forbidden: User \"ann\" cannot get resource \"services/proxy\" in API group \"\" in the namespace \"istio-system\"","reason":"Forbidden","code":403}`)
	}))
	defer apiServer.Close()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "tracing", Namespace: "istio-system"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http-query", Port: 80}}}}
	t.Setenv(EnvJaegerURL, "")
	j, err := JaegerLocator{Locator: Locator{Services: kubefake.NewClientset(svc).CoreV1(), RESTConfig: &rest.Config{Host: apiServer.URL}}}.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = j.Services(context.Background())
	for _, want := range []string{`cannot get resource "services/proxy"`, `resourceNames ["tracing:80"] in namespace istio-system`, "pass --jaeger-url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
