package cmd

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// Which Prometheus the figures come from is said on stderr, once however often it is asked
// for; a tenant's Service of the same name is used only when the user names its namespace.
func TestTelemetrySaysWhichPrometheusOnce(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler()) // the API server: Locate sends nothing
	defer srv.Close()
	service := func(ns, name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 9090}}}}
	}
	var errOut bytes.Buffer
	o := clusterOptions{
		getter:  &fakeCluster{},
		streams: genericiooptions.IOStreams{ErrOut: &errOut},
		clients: &mesh.Clients{Core: kubefake.NewClientset(service("istio-system", "prometheus"), service("tenant", "prometheus"), service("istio-system", "tracing")).CoreV1(), Config: &rest.Config{Host: srv.URL}},
	}
	for range 2 {
		if _, err := o.locator("").Locate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.jaegerLocator("").Locate(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.prom.namespace = "tenant"
	if _, err := o.locator("").Locate(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "telemetry: Prometheus istio-system/prometheus port 9090, through the API server's proxy\n" +
		"telemetry: Jaeger istio-system/tracing port 9090, through the API server's proxy\n" +
		"telemetry: Prometheus tenant/prometheus port 9090, through the API server's proxy\n"
	if errOut.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut.String(), want)
	}
}

// Every command that reads telemetry takes the namespace to find it in.
func TestTelemetryNamespaceFlags(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"canary":   {"--prometheus-namespace"},
		"lockdown": {"--prometheus-namespace"},
		"graph":    {"--prometheus-namespace", "--jaeger-namespace"},
		"traces":   {"--prometheus-namespace", "--jaeger-namespace"},
	} {
		stdout, _, code := run(nil, cmd, "--help")
		for _, flag := range flags {
			if code != 0 || !strings.Contains(stdout, flag) {
				t.Errorf("%s --help lacks %s:\n%s", cmd, flag, stdout)
			}
		}
	}
}

// A password in --jaeger-url or $MESH_JAEGER_URL is in no output: not in trace links (table
// or JSON), not in errors.
func TestTracesShowNoURLCredentials(t *testing.T) {
	const password = "s3cret-pw"
	url, _ := fakeJaeger(t, "reviews.bookinfo-gateway-api", "productpage.bookinfo-gateway-api", "details.bookinfo-gateway-api")
	secretURL := strings.Replace(url, "http://", "http://admin:"+password+"@", 1)
	for _, args := range [][]string{
		{"traces", "reviews", "-n", "bookinfo-gateway-api", "--jaeger-url", secretURL},
		{"traces", "reviews", "-n", "bookinfo-gateway-api", "-o", "json", "--jaeger-url", secretURL},
		{"traces", "checkout", "-n", "shop", "--jaeger-url", secretURL},
		{"traces", "reviews", "-n", "bookinfo-gateway-api", "--jaeger-url", "http://admin:" + password + "@127.0.0.1:1/jaeger"},
	} {
		stdout, stderr, _ := run(nil, args...)
		if strings.Contains(stdout+stderr, password) {
			t.Errorf("%v shows the password:\n%s\n%s", args, stdout, stderr)
		}
		if args[1] == "reviews" && strings.Contains(stdout, "/trace/") && !strings.Contains(stdout, url+"/trace/") {
			t.Errorf("%v: links are not to %s:\n%s", args, url, stdout)
		}
	}
	stdout, _, code := run(nil, "traces", "reviews", "-n", "bookinfo-gateway-api", "--jaeger-url", secretURL)
	if code != 0 || !strings.Contains(stdout, url+"/trace/") {
		t.Errorf("want links to %s, got exit %d:\n%s", url, code, stdout)
	}
}
