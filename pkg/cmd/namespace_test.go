package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A namespace that does not exist is an error, said the same way by every command, whatever
// else it could have shown: graph's "no traffic" or traces' "no traces" would hide a typo.
func TestNamespaceNotFoundEverywhere(t *testing.T) {
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/series" { // Istio's metrics are there, the window is quiet
			_, _ = w.Write([]byte(`{"status":"success","data":[{"__name__":"istio_requests_total"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer prom.Close()
	const want = "error: namespace \"nosuch\" not found: check the name (kubectl get namespaces)\n"
	for _, args := range [][]string{
		{"graph", "--prometheus-url", prom.URL},
		{"graph", "--prometheus-url", prom.URL, "--watch"},
		{"traces", "--jaeger-url", "http://127.0.0.1:1/jaeger"},
		{"traces", "reviews", "--check", "--jaeger-url", "http://127.0.0.1:1/jaeger"},
		{"lockdown", "nosuch", "--status"},
		{"lockdown", "nosuch", "--dry-run"},
	} {
		f := newLockdownCluster(1, 1)
		f.namespace = "nosuch"
		stdout, stderr, code := run(f, args...)
		if code != 1 || stderr != want || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q, want %q", args, code, stdout, stderr, want)
		}
	}
	// The kubeconfig's namespace is checked too, not only -n's.
	f := newLockdownCluster(1, 1)
	if _, stderr, code := run(f, "graph", "--prometheus-url", prom.URL); code != 1 || stderr != "error: namespace \"default\" not found: check the name (kubectl get namespaces)\n" {
		t.Errorf("graph in the kubeconfig's namespace default, which does not exist: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := run(f, "graph", "-A", "--prometheus-url", prom.URL); code != 0 {
		t.Errorf("graph -A: exit %d, stderr %q", code, stderr)
	}
}

// canary says the namespace is missing rather than the Service in it, and does not suggest -n
// to a user who gave it.
func TestCanaryNamespaceNotFound(t *testing.T) {
	f := newFakeCluster(2, 1)
	f.namespace = "nosuch"
	_, stderr, code := run(f, "canary", "reviews")
	if want := "error: namespace \"nosuch\" not found: check the name (kubectl get namespaces)\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", code, stderr, want)
	}
}

// A misspelled Service gets the closest name of its namespace.
func TestCanaryDidYouMean(t *testing.T) {
	_, stderr, code := run(newFakeCluster(2, 1), "canary", "reviewz", "10")
	if want := "error: service \"reviewz\" not found in namespace \"default\": did you mean reviews? check the name (kubectl get services -n default), or pick the namespace with -n\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", code, stderr, want)
	}
	_, stderr, _ = run(newFakeCluster(2, 1), "canary", "checkout", "10")
	if strings.Contains(stderr, "did you mean") {
		t.Errorf("nothing near checkout, yet: %q", stderr)
	}
}
