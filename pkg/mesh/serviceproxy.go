package mesh

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/client-go/rest"
)

// maxRedirects is how many redirects a request follows, as net/http's default does.
const maxRedirects = 10

// ServiceProxy is the base URL of port of Service namespace/name behind the API server's
// service proxy, and a client with the user's credentials for it. The client follows
// redirects only back to the API server: the API server passes a Service's redirects
// through, and its token or client certificate must never reach the host one names. Its
// answers are not checked to be Kubernetes JSON: they are the Service's own.
func ServiceProxy(config *rest.Config, namespace, name, port string) (string, *http.Client, error) {
	server, _, err := rest.DefaultServerUrlFor(config)
	if err != nil {
		return "", nil, fmt.Errorf("the API server's address %q: %v", config.Host, err)
	}
	config = rest.CopyConfig(config)
	config.WrapTransport = nil // the check for Kubernetes JSON
	transport, err := rest.TransportFor(config)
	if err != nil {
		return "", nil, err
	}
	base := strings.TrimSuffix(server.String(), "/")
	client := &http.Client{Transport: transport, CheckRedirect: SameHostRedirects(server, "the cluster's credentials")}
	return fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s:%s/proxy", base, namespace, name, port), client, nil
}

// ServiceProxyName is the name RBAC checks "get services/proxy" against when ServiceProxy
// reaches name's port: NAME:PORT, as in the request's path.
func ServiceProxyName(name, port string) string { return name + ":" + port }

// SameHostRedirects is an http.Client's CheckRedirect that follows redirects to host's
// scheme, host and port only; whose says whose credentials that protects, for the error.
func SameHostRedirects(host *url.URL, whose string) func(*http.Request, []*http.Request) error {
	allowed := origin(host)
	return func(req *http.Request, via []*http.Request) error {
		if origin(req.URL) != allowed {
			return &RedirectError{Target: req.URL.Host, Host: host.Host, Whose: whose}
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}

// RedirectError is a redirect not followed because it leads away from the host that
// credentials are for.
type RedirectError struct {
	Target string // the host:port the answer redirected to
	Host   string // the host the credentials are for
	Whose  string // "the cluster's credentials", "the URL's credentials"
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("answered with a redirect to another host, %s: not followed, since %s go to %s only", e.Target, e.Whose, e.Host)
}

// AsRedirectError finds a RedirectError in err.
func AsRedirectError(err error) (*RedirectError, bool) {
	var r *RedirectError
	ok := errors.As(err, &r)
	return r, ok
}

// origin is u's scheme, host and port, the port made explicit, in lower case.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
