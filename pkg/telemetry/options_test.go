package telemetry

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

const emptyVector = `{"status":"success","data":{"resultType":"vector","result":[]}}`

// seen records what a fake Prometheus was sent.
type seen struct {
	mu       sync.Mutex
	requests []*http.Request
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *seen) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

// answering is a handler that records each request and answers body as Prometheus's JSON.
func answering(s *seen, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.add(r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func query(t *testing.T, l Locator) error {
	t.Helper()
	prom, err := l.Locate(context.Background())
	if err != nil {
		return err
	}
	_, err = prom.Query(context.Background(), "up", time.Now())
	return err
}

// The tenant header and the bearer token reach Prometheus; the token is read again at each
// request, so a rotated token is used; Thanos' dedup and partial_response are asked for.
func TestHeadersAndRotatedTokenReachPrometheus(t *testing.T) {
	var got seen
	srv := httptest.NewServer(answering(&got, emptyVector))
	defer srv.Close()
	token := writeFile(t, "token", "first-token\n")
	l := Locator{FlagURL: srv.URL, Options: ClientOptions{Headers: http.Header{"X-Scope-Orgid": {"team-a"}}, TokenFile: token}}
	if err := query(t, l); err != nil {
		t.Fatal(err)
	}
	r := got.last()
	if r.Header.Get("X-Scope-OrgID") != "team-a" || r.Header.Get("Authorization") != "Bearer first-token" {
		t.Errorf("headers sent: %v", r.Header)
	}
	if q := r.URL.Query(); q.Get("dedup") != "true" || q.Get("partial_response") != "true" {
		t.Errorf("query %s lacks dedup=true&partial_response=true", r.URL.RawQuery)
	}
	if err := os.WriteFile(token, []byte("  second-token  "), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := query(t, l); err != nil {
		t.Fatal(err)
	}
	if a := got.last().Header.Get("Authorization"); a != "Bearer second-token" {
		t.Errorf("after rotation: Authorization %q", a)
	}
	prom, err := l.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(token)
	_, err = prom.Query(context.Background(), "up", time.Now())
	if want := "Prometheus at --prometheus-url " + srv.URL + ": --prometheus-token-file " + token + ": cannot read it: no such file"; err == nil || err.Error() != want {
		t.Errorf("token file gone: %v\nwant %s", err, want)
	}
	if err := query(t, l); err == nil || !strings.Contains(err.Error(), "--prometheus-token-file "+token+": cannot read it: no such file") {
		t.Errorf("token file gone before the first request: %v", err)
	}
}

// A TLS Prometheus signed by a private CA: refused without --prometheus-ca (said so),
// trusted with its PEM, reached with --prometheus-insecure-skip-tls-verify.
func TestPrivateCAAndInsecure(t *testing.T) {
	var got seen
	srv := httptest.NewUnstartedServer(answering(&got, emptyVector))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	err := query(t, Locator{FlagURL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "signed by an authority not trusted here") || !strings.Contains(err.Error(), "pass --prometheus-ca") {
		t.Errorf("without the CA: %v", err)
	}
	ca := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	if err := query(t, Locator{FlagURL: srv.URL, Options: ClientOptions{CAFile: ca}}); err != nil {
		t.Errorf("with --prometheus-ca: %v", err)
	}
	if err := query(t, Locator{FlagURL: srv.URL, Options: ClientOptions{InsecureSkipTLSVerify: true}}); err != nil {
		t.Errorf("insecure: %v", err)
	}
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(t.TempDir(), "missing.pem"), "cannot read it: no such file"},
		{writeFile(t, "bad.pem", "not a certificate"), "holds no PEM certificate"},
	} {
		err := query(t, Locator{FlagURL: srv.URL, Options: ClientOptions{CAFile: tc.file}})
		if err == nil || !strings.Contains(err.Error(), "--prometheus-ca "+tc.file+": "+tc.want) {
			t.Errorf("--prometheus-ca %s: %v", tc.file, err)
		}
	}
}

// A redirect to another host is not followed when credentials are set, and the other host
// never sees them; no message shows them.
func TestRedirectOffHostKeepsCredentials(t *testing.T) {
	var elsewhere seen
	other := httptest.NewServer(answering(&elsewhere, emptyVector))
	defer other.Close()
	named := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer named.Close()
	token := writeFile(t, "token", "s3cret-token")
	for _, l := range []Locator{
		{FlagURL: named.URL, Options: ClientOptions{TokenFile: token}},
		{FlagURL: named.URL, Options: ClientOptions{Headers: http.Header{"X-Api-Key": {"s3cret-key"}}}},
		{FlagURL: strings.Replace(named.URL, "http://", "http://admin:s3cret-pw@", 1)},
	} {
		err := query(t, l)
		if err == nil || !strings.Contains(err.Error(), "redirect to another host") {
			t.Errorf("redirect followed: %v", err)
		}
		for _, secret := range []string{"s3cret-token", "s3cret-key", "s3cret-pw"} {
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error shows %s: %v", secret, err)
			}
		}
	}
	if r := elsewhere.last(); r != nil {
		t.Errorf("the other host was asked, with headers %v", r.Header)
	}
}

// Through the API server's proxy the API server's credentials and TLS apply: a token, a CA
// or an Authorization header is an error naming the flag; a tenant header is sent.
func TestProxiedPrometheusTakesPlainHeadersOnly(t *testing.T) {
	t.Setenv(EnvPrometheusURL, "")
	var got seen
	apiServer := httptest.NewServer(answering(&got, emptyVector))
	defer apiServer.Close()
	l := Locator{Services: kubefake.NewClientset(promService("istio-system", "prometheus", 9090, nil)).CoreV1(), RESTConfig: &rest.Config{Host: apiServer.URL}}
	for flag, opts := range map[string]ClientOptions{
		"--prometheus-token-file":               {TokenFile: "/some/token"},
		"--prometheus-ca":                       {CAFile: "/some/ca.pem"},
		"--prometheus-insecure-skip-tls-verify": {InsecureSkipTLSVerify: true},
		"--prometheus-header Authorization":     {Headers: http.Header{"Authorization": {"Basic eA=="}}},
		"--prometheus-header Cookie":            {Headers: http.Header{"Cookie": {"session=x"}}},
	} {
		l.Options = opts
		_, err := l.Locate(context.Background())
		if err == nil || !strings.HasPrefix(err.Error(), flag+" needs --prometheus-url: ") {
			t.Errorf("%s through the proxy: %v", flag, err)
		}
	}
	l.Options = ClientOptions{Headers: http.Header{"X-Scope-Orgid": {"team-a"}}}
	if err := query(t, l); err != nil {
		t.Fatal(err)
	}
	if r := got.last(); r.Header.Get("X-Scope-OrgID") != "team-a" || !strings.Contains(r.URL.Path, "/services/prometheus:9090/proxy/") {
		t.Errorf("through the proxy: %s %v", r.URL.Path, r.Header)
	}
}

// A Prometheus that refuses us says which credentials it may want.
func TestUnauthorizedSaysWhichFlags(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no org id", http.StatusUnauthorized)
	}))
	defer srv.Close()
	err := query(t, Locator{FlagURL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "answered HTTP 401 Unauthorized: it wants credentials") || !strings.Contains(err.Error(), "--prometheus-token-file") {
		t.Errorf("401: %v", err)
	}
}

// Thanos' warnings of a partial answer are told to Warn, for every query; without a Warn
// the answer is refused rather than taken as the whole.
func TestWarningsOfPartialAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/series" {
			// Nothing found, partly: the partial answer is said; the truncation to the one
			// series asked for (limit=1, as Prometheus 3 warns) is not news.
			_, _ = w.Write([]byte(`{"status":"success","data":[],"warnings":["store east unreachable","results truncated due to limit"]}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["store west unreachable"],"infos":["PromQL info: x"]}`))
	}))
	defer srv.Close()
	var warned []string
	l := Locator{FlagURL: srv.URL, Warn: func(s string) { warned = append(warned, s) }}
	prom, err := l.Locate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prom.Query(context.Background(), "up", time.Now()); err != nil {
		t.Fatal(err)
	}
	want := []string{"Prometheus at --prometheus-url " + srv.URL + ": partial answer: store west unreachable", "Prometheus at --prometheus-url " + srv.URL + ": partial answer: store east unreachable"}
	if found, err := prom.HasIstioMetrics(context.Background(), time.Now().Add(-time.Hour), time.Now()); err != nil || found {
		t.Fatalf("found %v, %v", found, err)
	}
	if strings.Join(warned, "\n") != strings.Join(want, "\n") {
		t.Errorf("warned %q, want %q", warned, want)
	}
	l.Warn = nil
	if err := query(t, l); err == nil || !strings.Contains(err.Error(), "partial answer: store west unreachable") {
		t.Errorf("without Warn: %v", err)
	}
}
