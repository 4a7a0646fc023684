package telemetry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// ClientOptions say how to talk to a Prometheus the user named: what production setups put
// in front of it (a tenant header for Mimir or Cortex, a bearer token, a private CA).
type ClientOptions struct {
	// Headers are sent with every request to the named host (--prometheus-header).
	Headers http.Header
	// TokenFile holds a bearer token, read at each request so that a rotated token is used.
	TokenFile string
	// CAFile is a PEM bundle trusted instead of the system's roots.
	CAFile string
	// InsecureSkipTLSVerify accepts any certificate.
	InsecureSkipTLSVerify bool
}

// Flags that set the options, for messages.
const (
	flagToken    = "--prometheus-token-file"
	flagCA       = "--prometheus-ca"
	flagInsecure = "--prometheus-insecure-skip-tls-verify"
	flagHeader   = "--prometheus-header"
)

// credentialHeaders carry secrets: they go to the named host only, and never through the
// API server's proxy (the API server's own credentials are used there).
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// tlsOrToken names the first option that only a Prometheus reached by URL can use: through
// the API server's proxy, the API server's TLS and credentials apply.
func (o ClientOptions) tlsOrToken() string {
	switch {
	case o.TokenFile != "":
		return flagToken
	case o.CAFile != "":
		return flagCA
	case o.InsecureSkipTLSVerify:
		return flagInsecure
	}
	for _, name := range credentialHeaders {
		if o.Headers.Get(name) != "" {
			return flagHeader + " " + name
		}
	}
	return ""
}

// carriesCredentials tells whether requests carry something that must not reach another
// host: a token, a header, or the URL's user info.
func (o ClientOptions) carriesCredentials(u *url.URL) bool {
	return u.User != nil || o.TokenFile != "" || len(o.Headers) > 0
}

// client is the HTTP client for the Prometheus at u: its TLS trust, and headers and token
// added to requests for u's host alone. Redirects off that host are not followed when
// anything is added: the credentials are for that host.
func (o ClientOptions) client(u *url.URL) (*http.Client, error) {
	var base http.RoundTripper = http.DefaultTransport
	if o.CAFile != "" || o.InsecureSkipTLSVerify {
		config, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = config
		base = t
	}
	if o.TokenFile != "" {
		if _, err := readToken(o.TokenFile); err != nil {
			return nil, err // said now, before any query
		}
	}
	client := &http.Client{Transport: o.addTo(base, u)}
	if o.carriesCredentials(u) {
		client.CheckRedirect = mesh.SameHostRedirects(u, "the credentials given for Prometheus")
	}
	return client, nil
}

// addTo wraps base so that requests to u's scheme, host and port carry the headers and token.
func (o ClientOptions) addTo(base http.RoundTripper, u *url.URL) http.RoundTripper {
	if len(o.Headers) == 0 && o.TokenFile == "" {
		return base
	}
	return &credentials{base: base, origin: origin(u), headers: o.Headers, tokenFile: o.TokenFile}
}

func (o ClientOptions) tlsConfig() (*tls.Config, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipTLSVerify} //nolint:gosec // asked for by the user
	if o.CAFile == "" {
		return config, nil
	}
	pem, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot read it: %s", flagCA, o.CAFile, fileReason(err))
	}
	config.RootCAs = x509.NewCertPool()
	if !config.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's certificate in PEM", flagCA, o.CAFile)
	}
	return config, nil
}

// credentials adds headers and the bearer token to requests for one origin.
type credentials struct {
	base      http.RoundTripper
	origin    string
	headers   http.Header
	tokenFile string
}

func (c *credentials) RoundTrip(req *http.Request) (*http.Response, error) {
	if origin(req.URL) != c.origin {
		return c.base.RoundTrip(req) // never another host's (a redirect is refused before this)
	}
	req = req.Clone(req.Context())
	for name, values := range c.headers {
		req.Header[name] = values
	}
	if c.tokenFile != "" {
		token, err := readToken(c.tokenFile)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.base.RoundTrip(req)
}

// readToken reads the bearer token at each request: a token mounted from a Secret or
// refreshed by an agent is rotated in place.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &tokenError{fmt.Sprintf("%s %s: cannot read it: %s", flagToken, path, fileReason(err))}
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", &tokenError{fmt.Sprintf("%s %s: the file is empty: it should hold the bearer token", flagToken, path)}
	}
	if strings.ContainsAny(token, "\r\n") {
		return "", &tokenError{fmt.Sprintf("%s %s: holds more than one line: it should hold the bearer token alone", flagToken, path)}
	}
	return token, nil
}

// tokenError is a token that could not be read; its text never holds the token.
type tokenError struct{ message string }

func (e *tokenError) Error() string { return e.message }

func fileReason(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err.Error()
	}
	return err.Error()
}

// origin is scheme://host:port, the unit credentials are sent to.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// withHeaders adds the plain headers (a tenant's X-Scope-OrgID) to requests through the API
// server's proxy to base; credential headers were refused before.
func withHeaders(c *http.Client, o ClientOptions, base string) *http.Client {
	u, err := url.Parse(base)
	if len(o.Headers) == 0 || err != nil {
		return c
	}
	transport := c.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	wrapped := *c
	wrapped.Transport = ClientOptions{Headers: o.Headers}.addTo(transport, u)
	return &wrapped
}
