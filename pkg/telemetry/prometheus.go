// Package telemetry reads Istio's standard metrics from Prometheus: where Prometheus is, and
// the few queries the graph is built from.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// EnvPrometheusURL names Prometheus when --prometheus-url does not.
const EnvPrometheusURL = "MESH_PROMETHEUS_URL"

// Prometheus is a Prometheus server's HTTP API and how it was found, for messages.
type Prometheus struct{ endpoint }

// prometheusHint is what to check when an answer is not Prometheus's.
const prometheusHint = "is it Prometheus? check the URL, or pass --prometheus-url"

func newPrometheus(url string, client *http.Client, where string) *Prometheus {
	return &Prometheus{endpoint{name: "Prometheus", flag: "--prometheus-url", url: url, client: client, Where: where}}
}

// Locator finds Prometheus: the flag, else the environment, else the cluster.
type Locator struct {
	FlagURL string
	// Cluster access, for discovery; nil when there is no cluster to ask.
	Services   corev1client.ServicesGetter
	RESTConfig *rest.Config
	// Timeout bounds each query (--request-timeout); 0: none.
	Timeout time.Duration
}

// Locate returns a client for the Prometheus to use, or an error saying where it looked.
func (l Locator) Locate(ctx context.Context) (*Prometheus, error) {
	p, err := l.locate(ctx)
	if p != nil {
		p.timeout = l.Timeout
	}
	return p, err
}

func (l Locator) locate(ctx context.Context) (*Prometheus, error) {
	if l.FlagURL != "" {
		return direct(l.FlagURL, "--prometheus-url "+l.FlagURL)
	}
	if env := os.Getenv(EnvPrometheusURL); env != "" {
		return direct(env, EnvPrometheusURL+"="+env)
	}
	looked := "--prometheus-url (not given), $" + EnvPrometheusURL + " (not set)"
	if l.Services == nil || l.RESTConfig == nil {
		return nil, fmt.Errorf("no Prometheus to ask: looked at %s, and there is no cluster to search; pass --prometheus-url", looked)
	}
	svc, err := l.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("no Prometheus found: looked at %s, service prometheus in istio-system, and services labelled app.kubernetes.io/name=prometheus or app=prometheus: %w; pass --prometheus-url", looked, err)
	}
	return l.throughAPIServer(svc)
}

func direct(url, where string) (*Prometheus, error) {
	base, err := baseURL(url, where)
	if err != nil {
		return nil, err
	}
	return newPrometheus(base, http.DefaultClient, where), nil
}

// baseURL is a URL the user gave (said where) as the base of an API: http or https, without
// a trailing slash.
func baseURL(url, where string) (string, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return "", fmt.Errorf("%s: not an http:// or https:// URL", where)
	}
	return strings.TrimSuffix(url, "/"), nil
}

// discover: service prometheus in istio-system (where istioctl's addon puts it), else one
// labelled as Prometheus in any namespace.
func (l Locator) discover(ctx context.Context) (*corev1.Service, error) {
	svc, err := l.Services.Services(istio.InstallNamespace).Get(ctx, "prometheus", metav1.GetOptions{})
	switch {
	case err == nil:
		return svc, nil
	case !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err):
		return nil, err
	}
	for _, selector := range []string{"app.kubernetes.io/name=prometheus", "app=prometheus"} {
		list, err := l.Services.Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, err
		}
		if len(list.Items) > 0 {
			return &list.Items[0], nil
		}
	}
	return nil, errors.New("none exists")
}

// throughAPIServer reaches svc through the API server's service proxy: no port-forward, and
// the user's credentials and RBAC (services/proxy) apply.
func (l Locator) throughAPIServer(svc *corev1.Service) (*Prometheus, error) {
	port := "9090"
	if len(svc.Spec.Ports) > 0 {
		port = fmt.Sprint(svc.Spec.Ports[0].Port)
	}
	url, client, err := serviceProxy(l.RESTConfig, svc, port)
	if err != nil {
		return nil, err
	}
	return newPrometheus(url, client, fmt.Sprintf("service %s/%s (through the API server's proxy)", svc.Namespace, svc.Name)), nil
}

// serviceProxy is the URL of svc's port behind the API server's service proxy, and a client
// with the user's credentials for it. Without the check that answers are Kubernetes JSON:
// they are the service's own.
func serviceProxy(restConfig *rest.Config, svc *corev1.Service, port string) (string, *http.Client, error) {
	config := rest.CopyConfig(restConfig)
	config.WrapTransport = nil
	transport, err := rest.TransportFor(config)
	if err != nil {
		return "", nil, err
	}
	host := strings.TrimSuffix(restConfig.Host, "/")
	return fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s:%s/proxy", host, svc.Namespace, svc.Name, port), &http.Client{Transport: transport}, nil
}
