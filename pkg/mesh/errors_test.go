package mesh

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestExplain(t *testing.T) {
	vs := schema.GroupResource{Group: "networking.istio.io", Resource: "virtualservices"}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"forbidden names the verb and the fix",
			apierrors.NewForbidden(vs, "reviews", errors.New(`User "viewer" cannot update resource "virtualservices"`)),
			[]string{`virtualservices.networking.istio.io "reviews" is forbidden`, `User "viewer" cannot update`, "RBAC"}},
		{"unauthorized", apierrors.NewUnauthorized("bad token"), []string{"401 Unauthorized", "--kubeconfig"}},
		{"connection refused names the server",
			&url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api?timeout=32s", Err: syscall.ECONNREFUSED},
			[]string{"cannot reach the API server at https://10.0.0.1:6443", "connection refused"}},
		{"interrupted, within a write's failure: what surrounds it stays",
			fmt.Errorf("authorizationpolicy/x create failed: %w\nreverted, in this order: peerauthentication/default; nothing was left changed",
				&url.Error{Op: "Post", URL: "https://10.0.0.1:6443/apis/security.istio.io/v1/namespaces/shop/authorizationpolicies", Err: context.Canceled}),
			[]string{"authorizationpolicy/x create failed: interrupted (Ctrl-C or a termination signal) while waiting for the API server at https://10.0.0.1:6443", "nothing was left changed"}},
		{"timeout", &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api", Err: timeoutError{}},
			[]string{"the API server at https://10.0.0.1:6443 did not answer in time (--request-timeout)"}},
		{"connection lost after the request went out", &url.Error{Op: "Post", URL: "https://10.0.0.1:6443/apis", Err: io.EOF},
			[]string{"lost the connection to the API server at https://10.0.0.1:6443 before its answer"}},
		{"a proxy's page", &url.Error{Op: "Post", URL: "https://10.0.0.1:6443/apis/x", Err: &NotKubernetesError{Method: "POST", URL: "https://10.0.0.1:6443/apis/x", Status: "200 OK", ContentType: "text/html", Body: []byte("<html>hi</html>")}},
			[]string{"the server at https://10.0.0.1:6443 answered POST /apis/x with 200 OK (text/html), not Kubernetes JSON", "<html>hi</html>", "proxy"}},
		{"not found passes through", apierrors.NewNotFound(vs, "reviews"), []string{`virtualservices.networking.istio.io "reviews" not found`}},
		{"plain errors pass through", errors.New("reviews: subset v3 not found"), []string{"reviews: subset v3 not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Explain(tt.err).Error()
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("Explain(%v) = %q, want it to contain %q", tt.err, got, want)
				}
			}
		})
	}
	if Explain(nil) != nil {
		t.Error("Explain(nil) != nil")
	}
	// Explained once: the original stays reachable, and explaining again changes nothing.
	conflict := fmt.Errorf("x: %w", apierrors.NewConflict(vs, "reviews", errors.New("changed")))
	if err := Explain(Explain(conflict)); !apierrors.IsConflict(err) || err.Error() != conflict.Error() {
		t.Errorf("Explain(Explain(conflict)) = %v", err)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Answers that cannot be the API server's become NotKubernetesError; its own plain-text 404
// (an API it does not serve) passes, as does JSON whatever its status.
func TestCheckAnswers(t *testing.T) {
	tests := []struct {
		status      int
		contentType string
		want        bool // an error
	}{
		{200, "application/json", false},
		{201, "application/vnd.kubernetes.protobuf", false},
		{404, "text/plain; charset=utf-8", false},
		{503, "application/json", false},
		{200, "text/html", true},
		{502, "text/html; charset=utf-8", true},
		{200, "", true},
	}
	for _, tt := range tests {
		rt := checkAnswers{roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("Content-Type", tt.contentType)
			return &http.Response{StatusCode: tt.status, Status: fmt.Sprint(tt.status), Header: h, Body: io.NopCloser(strings.NewReader("<html>proxy</html>"))}, nil
		})}
		req, _ := http.NewRequest(http.MethodGet, "https://10.0.0.1:6443/api", nil)
		_, err := rt.RoundTrip(req)
		var notKube *NotKubernetesError
		if got := errors.As(err, &notKube); got != tt.want {
			t.Errorf("%d %q: error %v", tt.status, tt.contentType, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Reason names why a server could not be reached in words, never with the request's URL (a
// PromQL query, URL-encoded) or the syscall's name.
func TestReason(t *testing.T) {
	query := "http://10.0.0.1:9090/api/v1/query?query=sum+by+%28reporter%2C+source_workload%29"
	dial := func(err error) error {
		return &url.Error{Op: "Get", URL: query, Err: &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}}
	}
	tests := []struct {
		err  error
		want string
	}{
		{dial(syscall.ECONNREFUSED), "connection refused: nothing listens on that address and port"},
		{dial(syscall.EHOSTUNREACH), "no route to that address"},
		{&url.Error{Op: "Get", URL: query, Err: &net.DNSError{Name: "prometheus.example", Err: "no such host", IsNotFound: true}}, "no such host: the name prometheus.example does not resolve"},
		{&url.Error{Op: "Get", URL: query, Err: timeoutError{}}, "no answer in time"},
		{&url.Error{Op: "Get", URL: query, Err: io.EOF}, "the server closed the connection"},
		{&url.Error{Op: "Get", URL: query, Err: x509.UnknownAuthorityError{}}, "its TLS certificate is signed by an authority this kubeconfig does not trust"},
		{&url.Error{Op: "Get", URL: query, Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, "it does not speak TLS: try http:// rather than https://"},
		{&url.Error{Op: "Get", URL: query, Err: errors.New("http: server gave HTTP response to HTTPS client")}, "it answers plain HTTP, not HTTPS: use http://"},
		{&url.Error{Op: "Get", URL: query, Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("something else")}}, "something else"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
		if got := Explain(tt.err).Error(); strings.Contains(got, "query=") || strings.Contains(got, "dial tcp") {
			t.Errorf("Explain(%v) = %q: carries the request or the syscall", tt.err, got)
		}
	}
}

// The mesh config is read beside other requests: when they fail first and cancel it, its
// own failure is no news; otherwise the warning says why in words, not with the request.
func TestMeshConfigProblem(t *testing.T) {
	kube := kubefake.NewClientset()
	kube.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api/v1/namespaces/istio-system/configmaps/istio", Err: syscall.ECONNREFUSED}
	})
	c := &Clients{Core: kube.CoreV1()}
	_, problem := c.MeshConfig(context.Background())
	if want := "(configmap istio-system/istio: connection refused: nothing listens on that address and port): assuming"; !strings.Contains(problem, want) || strings.Contains(problem, `Get "`) {
		t.Errorf("problem %q, want it to contain %q and not the request", problem, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, problem := c.MeshConfig(ctx); problem != "" {
		t.Errorf("cancelled read: problem %q, want none", problem)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"reviews", "reviews", 0}, {"reviewz", "reviews", 1}, {"revews", "reviews", 1}, {"ratings", "reviews", 4}, {"", "abc", 3}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
