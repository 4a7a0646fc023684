//go:build e2e

package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// edgeAnswer is one HTTP edge in default, productpage to reviews, for every query.
const edgeAnswer = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"reporter":"destination","source_workload":"productpage-v1","source_workload_namespace":"default","source_app":"productpage","source_version":"v1","destination_workload":"reviews-v1","destination_workload_namespace":"default","destination_app":"reviews","destination_version":"v1","destination_service":"reviews.default.svc.cluster.local","request_protocol":"http","response_code":"200","response_flags":"-","connection_security_policy":"mutual_tls"},"value":[1700000000,"4"]}]}%s}`

// tenantPrometheus is Prometheus behind a gateway, as Mimir or a Thanos behind an auth
// proxy runs: the gateway answers 401 unless the request carries the tenant header and the
// bearer token, and records what it was sent. warnings, when set, are added to every answer.
type tenantPrometheus struct {
	*httptest.Server
	mu               sync.Mutex
	tenants, bearers []string
}

func newTenantPrometheus(t *testing.T, token, warnings string) *tenantPrometheus {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/api/v1/series") {
			_, _ = w.Write([]byte(`{"status":"success","data":[{"__name__":"istio_requests_total"}]` + warnings + `}`))
			return
		}
		_, _ = w.Write([]byte(strings.Replace(edgeAnswer, "%s", warnings, 1)))
	}))
	t.Cleanup(backend.Close)
	target, _ := url.Parse(backend.URL)
	forward := httputil.NewSingleHostReverseProxy(target)
	p := &tenantPrometheus{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.tenants = append(p.tenants, r.Header.Get("X-Scope-OrgID"))
		p.bearers = append(p.bearers, r.Header.Get("Authorization"))
		p.mu.Unlock()
		if r.Header.Get("X-Scope-OrgID") != "team-a" || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no org id or bad token", http.StatusUnauthorized)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// sawOnly tells whether every request carried the tenant header and the token.
func (p *tenantPrometheus) sawOnly(tenant, bearer string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.tenants {
		if p.tenants[i] != tenant || p.bearers[i] != bearer {
			return false
		}
	}
	return len(p.tenants) > 0
}

// The tenant header and the bearer token from a file reach a Prometheus that demands them,
// through the real kubectl, by flag and by environment; neither the token nor the URL's
// password is printed; without the token the command fails and says what is missing.
func TestPrometheusAuth(t *testing.T) {
	t.Parallel()
	const token, password = "e2e-token-4f2a", "e2e-pw-9c1d"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := newTenantPrometheus(t, token, "")
	withPassword := strings.Replace(prom.URL, "http://", "http://admin:"+password+"@", 1)
	noSecrets := func(r result) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, token) || strings.Contains(r.stdout+r.stderr, password) {
			t.Errorf("a secret is printed:\n%s", r)
		}
	}

	r := mustSucceed(t, plugin(t, cluster, "mesh", "graph", "-n", "default", "--prometheus-url", withPassword,
		"--prometheus-header", "X-Scope-OrgID: team-a", "--prometheus-token-file", tokenFile))
	noSecrets(r)
	if !strings.Contains(r.stdout, "default/productpage") || !strings.Contains(r.stdout, "default/reviews") {
		t.Errorf("the edge is not shown:\n%s", r)
	}
	if !prom.sawOnly("team-a", "Bearer "+token) {
		t.Errorf("Prometheus saw tenants %q, authorization %d times, not always team-a and the token", prom.tenants, len(prom.bearers))
	}

	r = run(t, command{name: "kubectl", args: []string{"mesh", "graph", "-n", "default", "--kubeconfig", cluster.Kubeconfig},
		env: []string{"MESH_PROMETHEUS_URL=" + withPassword, "MESH_PROMETHEUS_HEADERS=X-Scope-OrgID: team-a", "MESH_PROMETHEUS_TOKEN_FILE=" + tokenFile}})
	mustSucceed(t, r)
	noSecrets(r)

	r = plugin(t, cluster, "mesh", "graph", "-n", "default", "--prometheus-url", withPassword, "--prometheus-header", "X-Scope-OrgID: team-a")
	noSecrets(r)
	if r.code != 1 || !strings.Contains(r.stderr, "answered HTTP 401 Unauthorized: it wants credentials") || !strings.Contains(r.stderr, "--prometheus-token-file") {
		t.Errorf("without the token:\n%s", r)
	}

	r = plugin(t, cluster, "mesh", "graph", "-n", "default", "--prometheus-token-file", tokenFile)
	if r.code != 1 || !strings.Contains(r.stderr, "--prometheus-token-file needs --prometheus-url") {
		t.Errorf("a token for the API server's proxy:\n%s", r)
	}
}

// A Thanos-style partial answer is said as a warning, once, not taken silently as the whole.
func TestPrometheusAuthPartialAnswerWarns(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := newTenantPrometheus(t, "t0ken", `,"warnings":["receive-1: store unavailable"]`)
	r := mustSucceed(t, plugin(t, cluster, "mesh", "graph", "-n", "default", "--prometheus-url", prom.URL,
		"--prometheus-header", "X-Scope-OrgID: team-a", "--prometheus-token-file", tokenFile))
	want := "warning: Prometheus at --prometheus-url " + prom.URL + ": partial answer: receive-1: store unavailable\n"
	if strings.Count(r.stderr, want) != 1 {
		t.Errorf("want %q once:\n%s", want, r)
	}
}
