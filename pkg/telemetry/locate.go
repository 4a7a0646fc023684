package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// Locator finds Prometheus: the flag, else the environment, else the cluster.
type Locator struct {
	FlagURL string
	// Namespace is the one namespace searched for Prometheus (--prometheus-namespace); ""
	// means Istio's, istio-system, where istioctl dashboard looks. No other namespace is
	// searched: a tenant's Service there would decide what lockdown allows and canary passes.
	Namespace string
	// Cluster access, for discovery; nil when there is no cluster to ask.
	Services   corev1client.ServicesGetter
	RESTConfig *rest.Config
	// Timeout bounds each query (--request-timeout); 0: none.
	Timeout time.Duration
	// Found, when set, is told which Service in the cluster was chosen, for the user.
	Found func(string)
	// Options are the headers, token and TLS trust for a Prometheus reached by URL; through
	// the API server's proxy only plain headers apply.
	Options ClientOptions
	// Warn, when set, is told what Prometheus warned about an answer (a partial answer from
	// Thanos, say): such an answer is not the whole. Without it, warnings are errors.
	Warn func(string)
	// URLFrom says how FlagURL was given, for messages ("$MESH_PROMETHEUS_URL="); "" is
	// --prometheus-url. Resolved means the caller has read the environment already (it may
	// hold one URL per cluster): then Looked, when set, says where it looked.
	URLFrom  string
	Resolved bool
	Looked   string
	// Err, when set, is what Locate returns: the caller could not tell which Prometheus.
	Err error
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
	if l.Err != nil {
		return nil, l.Err
	}
	if l.FlagURL != "" {
		return l.directPrometheus(l.FlagURL, cmp.Or(l.URLFrom, "--prometheus-url "))
	}
	if env := os.Getenv(EnvPrometheusURL); env != "" && !l.Resolved {
		return l.directPrometheus(env, EnvPrometheusURL+"=")
	}
	looked := cmp.Or(l.Looked, "--prometheus-url (not given), $"+EnvPrometheusURL+" (not set)")
	if flag := l.Options.tlsOrToken(); flag != "" {
		return nil, fmt.Errorf("%s needs --prometheus-url: without one, Prometheus is found in the cluster and reached through the API server's proxy, with the cluster's credentials and TLS (looked at %s)", flag, looked)
	}
	if l.Services == nil || l.RESTConfig == nil {
		return nil, fmt.Errorf("no Prometheus to ask: looked at %s, and there is no cluster to search; pass --prometheus-url", looked)
	}
	ns := l.namespace()
	svc, err := l.discover(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("no Prometheus found: looked at %s, and in namespace %s for service prometheus or services labelled %s: %w; pass --prometheus-url, or --prometheus-namespace for a Prometheus in another namespace",
			looked, ns, strings.Join(prometheusLabels, " or "), err)
	}
	port := "9090"
	if len(svc.Spec.Ports) > 0 {
		port = fmt.Sprint(svc.Spec.Ports[0].Port)
	}
	e, err := l.throughAPIServer(svc, port, "")
	if err != nil {
		return nil, err
	}
	e.client = withHeaders(e.client, l.Options, e.url)
	e.name, e.flag = "Prometheus", "--prometheus-url"
	return &Prometheus{endpoint: e, warn: l.Warn}, nil
}

func (l Locator) namespace() string {
	if l.Namespace != "" {
		return l.Namespace
	}
	return istio.InstallNamespace
}

// prometheusLabels select Prometheus's Service when it is not named prometheus.
var prometheusLabels = []string{"app.kubernetes.io/name=prometheus", "app=prometheus"}

// discover finds Prometheus in ns alone: service prometheus (where istioctl's addon puts
// it), else the first by name of those labelled as Prometheus.
func (l Locator) discover(ctx context.Context, ns string) (*corev1.Service, error) {
	svc, err := l.Services.Services(ns).Get(ctx, "prometheus", metav1.GetOptions{})
	switch {
	case err == nil:
		return svc, nil
	case !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err):
		return nil, err
	}
	for _, selector := range prometheusLabels {
		list, err := l.Services.Services(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, err
		}
		if len(list.Items) > 0 {
			first := slices.MinFunc(list.Items, func(a, b corev1.Service) int { return strings.Compare(a.Name, b.Name) })
			return &first, nil
		}
	}
	return nil, fmt.Errorf("none exists")
}

// throughAPIServer reaches svc's port (under basePath) through the API server's service
// proxy: no port-forward, and the user's credentials and RBAC (services/proxy) apply. It
// tells Found which Service that is.
func (l Locator) throughAPIServer(svc *corev1.Service, port, basePath string) (endpoint, error) {
	url, client, err := mesh.ServiceProxy(l.RESTConfig, svc.Namespace, svc.Name, port)
	if err != nil {
		return endpoint{}, err
	}
	e := endpoint{url: url + basePath, client: client, Where: fmt.Sprintf("service %s/%s (through the API server's proxy)", svc.Namespace, svc.Name),
		proxied: &proxiedService{namespace: svc.Namespace, name: mesh.ServiceProxyName(svc.Name, port)}}
	if l.Found != nil {
		l.Found(fmt.Sprintf("%s/%s port %s, through the API server's proxy", svc.Namespace, svc.Name, port))
	}
	return e, nil
}

func (l Locator) directPrometheus(raw, given string) (*Prometheus, error) {
	e, err := direct(raw, given)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(raw) // parsed by direct
	if e.client, err = l.Options.client(u); err != nil {
		return nil, err
	}
	e.name, e.flag = "Prometheus", "--prometheus-url"
	return &Prometheus{endpoint: e, warn: l.Warn}, nil
}

// direct is the endpoint at a URL the user gave (given says how: "--prometheus-url "),
// http or https, shown without its credentials. Redirects that leave its host are not
// followed when it carries credentials: they are for that host alone.
func direct(raw, given string) (endpoint, error) {
	where := given + output.RedactURL(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return endpoint{}, fmt.Errorf("%s: not an http:// or https:// URL", where)
	}
	client := &http.Client{}
	if u.User != nil {
		client.CheckRedirect = mesh.SameHostRedirects(u, "the URL's credentials")
	}
	return endpoint{url: strings.TrimSuffix(raw, "/"), client: client, Where: where}, nil
}
