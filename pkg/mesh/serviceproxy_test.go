package mesh

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

const token = "cluster-secret-token"

// apiServer stands for an API server whose service proxy passes the Service's redirect to
// location through, as the real one does; it records whether the token reached it.
func apiServer(t *testing.T, location func(r *http.Request) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/final") {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"success"}`)
			return
		}
		http.Redirect(w, r, location(r), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestServiceProxyDoesNotFollowRedirectsOffTheAPIServer(t *testing.T) {
	var elsewhere atomic.Int32
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		leaked.Store(r.Header.Get("Authorization"))
	}))
	defer other.Close()
	srv := apiServer(t, func(*http.Request) string { return other.URL + "/steal" })

	base, client, err := ServiceProxy(&rest.Config{Host: srv.URL, BearerToken: token}, "istio-system", "prometheus", "9090")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(base + "/api/v1/query")
	if err == nil {
		resp.Body.Close()
	}
	if got, _ := leaked.Load().(string); got != "" {
		t.Fatalf("the other host received Authorization %q", got)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the other host received %d requests", n)
	}
	redirect, ok := AsRedirectError(err)
	if !ok || redirect.Target != strings.TrimPrefix(other.URL, "http://") {
		t.Fatalf("want a RedirectError naming %s, got %v", other.URL, err)
	}
	if msg := redirect.Error(); !strings.Contains(msg, strings.TrimPrefix(other.URL, "http://")) || !strings.Contains(msg, "the cluster's credentials go to") || strings.Contains(msg, token) {
		t.Errorf("message: %s", msg)
	}
}

func TestServiceProxyFollowsRedirectsBackToTheAPIServer(t *testing.T) {
	srv := apiServer(t, func(r *http.Request) string { return r.URL.Path + "/final" })
	base, client, err := ServiceProxy(&rest.Config{Host: srv.URL, BearerToken: token}, "istio-system", "tracing", "80")
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/api/v1/namespaces/istio-system/services/tracing:80/proxy"; base != want {
		t.Errorf("base = %s, want %s", base, want)
	}
	resp, err := client.Get(base + "/jaeger")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/jaeger/final") {
		t.Errorf("after a redirect on the API server: %s at %s", resp.Status, resp.Request.URL)
	}
}

func TestSameHostRedirectsComparesSchemeHostAndPort(t *testing.T) {
	check := SameHostRedirects(mustParse(t, "https://api.example:443/prefix"), "the cluster's credentials")
	for _, tt := range []struct {
		to   string
		want bool
	}{
		{"https://API.example/prefix/other", true},
		{"https://api.example:443/", true},
		{"http://api.example:443/", false},
		{"https://api.example:8443/", false},
		{"https://api.example.evil/", false},
		{"https://evil.example/", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, tt.to, nil)
		if err := check(req, []*http.Request{req}); (err == nil) != tt.want {
			t.Errorf("redirect to %s: err %v, want followed %v", tt.to, err, tt.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example/", nil)
	if err := check(req, make([]*http.Request, maxRedirects)); err == nil {
		t.Error("redirects were followed without end")
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
