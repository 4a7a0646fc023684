package telemetry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// endpoint is an HTTP JSON API we read (Prometheus's, Jaeger's): where it is, how it was
// found (for messages), and how long each request may take.
type endpoint struct {
	name    string // "Prometheus", "Jaeger"
	flag    string // the flag that names it, for hints
	url     string // the API's root, without a trailing slash
	client  *http.Client
	timeout time.Duration   // per request; 0: none
	Where   string          // "--prometheus-url http://...", "service istio-system/prometheus (through the API server)"; never credentials
	proxied *proxiedService // nil unless reached through the API server's service proxy
}

// proxiedService is the Service an endpoint is reached through, as RBAC names it.
type proxiedService struct{ namespace, name string }

var errTimedOut = errors.New("request timed out")

// get sends one GET, bounded by the timeout, and hands a JSON answer to read; an answer that
// is not JSON is an error that quotes it, with hint saying what to check.
func (e *endpoint) get(ctx context.Context, path, hint string, read func(*http.Response) error) error {
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.timeout, errTimedOut)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+path, nil)
	if err != nil {
		return fmt.Errorf("%s at %s: %v", e.name, e.Where, withoutURL(err))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if redirect, ok := mesh.AsRedirectError(err); ok {
			return fmt.Errorf("%s at %s %v\n(if %s really is at %s, pass %s with its URL)", e.name, e.Where, redirect, e.name, redirect.Target, e.flag)
		}
		var token *tokenError
		if errors.As(err, &token) { // the token file went away after the first request
			return fmt.Errorf("Prometheus at %s: %v", e.Where, token)
		}
		if e.proxied == nil && e.name == "Prometheus" && untrusted(err) {
			return fmt.Errorf("cannot reach Prometheus at %s: its TLS certificate is signed by an authority not trusted here\n(pass %s with the CA's PEM file, or %s)", e.Where, flagCA, flagInsecure)
		}
		return e.failed(ctx, fmt.Errorf("cannot reach %s at %s: %s\n(check that it is up, or pass %s)", e.name, e.Where, mesh.Reason(err), e.flag))
	}
	defer resp.Body.Close()
	if err := e.refusedByRBAC(resp); err != nil {
		return err
	}
	if err := e.unauthorized(resp); err != nil {
		return err
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return e.failed(ctx, fmt.Errorf("%s at %s answered HTTP %s, not its API's JSON: %q\n(%s)", e.name, e.Where, resp.Status, bytes.TrimSpace(start), hint))
	}
	return read(resp)
}

// withoutURL is err without the URL that *url.Error quotes: the URL may carry credentials,
// and the message already says where the request went.
func withoutURL(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// unreadable says why an answer could not be read, in words: the connection's fate as
// mesh.Reason says it, or where the JSON stops making sense, never encoding/json's own text.
func unreadable(err error) string {
	var (
		syntax   *json.SyntaxError
		mismatch *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON at byte %d", syntax.Offset)
	case errors.As(err, &mismatch):
		return fmt.Sprintf("field %q holds JSON %s where the API has another type", mismatch.Field, mismatch.Value)
	}
	return mesh.Reason(err)
}

// refusedByRBAC is the API server's refusal to proxy (403 with a Kubernetes Status), said
// with the permission to ask for. Any other answer is left to read, body intact.
func (e *endpoint) refusedByRBAC(resp *http.Response) error {
	if e.proxied == nil || resp.StatusCode != http.StatusForbidden {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var status metav1.Status
	if json.Unmarshal(body, &status) != nil || status.Kind != "Status" {
		return nil
	}
	return fmt.Errorf("%s at %s: the API server refused: %s\n(your role needs get on services/proxy with resourceNames [%q] in namespace %s, as in deploy/rbac.yaml; or pass %s)",
		e.name, e.Where, status.Message, e.proxied.name, e.proxied.namespace, e.flag)
}

// failed says why a request failed when the reason is the clock or the user, not the server.
func (e *endpoint) failed(ctx context.Context, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), errTimedOut):
		return fmt.Errorf("%s at %s did not answer within %s (--request-timeout)", e.name, e.Where, e.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("interrupted while waiting for %s at %s", e.name, e.Where)
	}
	return err
}

// untrusted tells a certificate from an unknown authority: the fix is --prometheus-ca, not
// the kubeconfig's CA that mesh.Reason speaks of.
func untrusted(err error) bool {
	var unknown x509.UnknownAuthorityError
	var verification *tls.CertificateVerificationError
	return errors.As(err, &unknown) || (errors.As(err, &verification) && errors.As(verification.Err, &unknown))
}

// unauthorized is a Prometheus reached by URL that refuses us (401, 403): say which
// credentials it may want. Its answer is not quoted: a proxy may echo what it was sent.
func (e *endpoint) unauthorized(resp *http.Response) error {
	if e.proxied != nil || e.name != "Prometheus" || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return nil
	}
	return fmt.Errorf("Prometheus at %s answered HTTP %s: it wants credentials it was not given, or refused them\n(pass %s, %s (e.g. 'X-Scope-OrgID: TENANT'), or user:password in the URL)", e.Where, resp.Status, flagToken, flagHeader)
}
