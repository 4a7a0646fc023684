package telemetry

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// EnvJaegerURL names Jaeger when --jaeger-url does not.
const EnvJaegerURL = "MESH_JAEGER_URL"

// Jaeger is a Jaeger query service's HTTP JSON API (the one its UI reads), and how it was
// found, for messages.
type Jaeger struct {
	endpoint // its url includes Jaeger's base path
	// UI is the base of links to open a trace in Jaeger's UI; empty when the user cannot
	// reach it directly (through the API server's proxy).
	UI string
}

// JaegerLocator finds Jaeger: the flag, else the environment, else Istio's addon in the
// cluster (service tracing, port 80, served under /jaeger) in istio-system or the namespace
// the user names.
type JaegerLocator struct {
	FlagURL string
	// Namespace is the one namespace searched for Jaeger (--jaeger-namespace); "" means
	// Istio's, istio-system.
	Namespace string
	Locator   // the cluster access and timeout Prometheus is found with
}

// Locate returns a client for the Jaeger to use, or an error saying where it looked.
func (l JaegerLocator) Locate(ctx context.Context) (*Jaeger, error) {
	j, err := l.locate(ctx)
	if j != nil {
		j.timeout = l.Timeout
	}
	return j, err
}

func (l JaegerLocator) locate(ctx context.Context) (*Jaeger, error) {
	if l.FlagURL != "" {
		return directJaeger(l.FlagURL, "--jaeger-url ")
	}
	if env := os.Getenv(EnvJaegerURL); env != "" {
		return directJaeger(env, EnvJaegerURL+"=")
	}
	looked := "--jaeger-url (not given), $" + EnvJaegerURL + " (not set)"
	if l.Services == nil || l.RESTConfig == nil {
		return nil, fmt.Errorf("no Jaeger to ask: looked at %s, and there is no cluster to search; pass --jaeger-url", looked)
	}
	ns := cmp.Or(l.Namespace, istio.InstallNamespace)
	svc, err := l.Services.Services(ns).Get(ctx, "tracing", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("no Jaeger found: looked at %s and service tracing in %s (Istio's addon: kubectl apply -f samples/addons/jaeger.yaml); pass --jaeger-url, or --jaeger-namespace for a Jaeger in another namespace", looked, ns)
	case err != nil:
		return nil, fmt.Errorf("looking for Jaeger (service %s/tracing): %w; pass --jaeger-url", ns, err)
	}
	e, err := l.throughAPIServer(svc, jaegerPort(svc), "/jaeger")
	if err != nil {
		return nil, err
	}
	e.name, e.flag = "Jaeger", "--jaeger-url"
	return &Jaeger{endpoint: e}, nil
}

// directJaeger is Jaeger at a URL the user gave; its UI is there too, and links to it carry
// no credentials.
func directJaeger(raw, given string) (*Jaeger, error) {
	e, err := direct(raw, given)
	if err != nil {
		return nil, err
	}
	e.name, e.flag = "Jaeger", "--jaeger-url"
	return &Jaeger{endpoint: e, UI: output.LinkURL(e.url)}, nil
}

// jaegerHint is what to check when an answer is not Jaeger's API.
const jaegerHint = "is it Jaeger's query service? Istio's addon serves it under /jaeger: check the URL's base path"

// jaegerPort is the addon's http-query port (80), else the Service's first.
func jaegerPort(svc *corev1.Service) string {
	for _, p := range svc.Spec.Ports {
		if p.Name == "http-query" {
			return fmt.Sprint(p.Port)
		}
	}
	if len(svc.Spec.Ports) > 0 {
		return fmt.Sprint(svc.Spec.Ports[0].Port)
	}
	return "80"
}

// TraceURL is where a user opens trace id in Jaeger's UI, or "" when Jaeger is reached
// through the API server only.
func (j *Jaeger) TraceURL(id string) string {
	if j.UI == "" {
		return ""
	}
	return output.LinkURL(j.UI + "/trace/" + id)
}

// Services lists the service names Jaeger holds spans of.
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	var answer struct {
		Data []string `json:"data"`
	}
	err := j.getJSON(ctx, "/api/services", nil, &answer)
	return answer.Data, err
}

// Traces returns up to limit traces with a span of service between from and to, as Jaeger
// holds them (whole traces, every span).
func (j *Jaeger) Traces(ctx context.Context, service string, from, to time.Time, limit int) ([]traces.Trace, error) {
	params := url.Values{
		"service": {service},
		"start":   {strconv.FormatInt(from.UnixMicro(), 10)},
		"end":     {strconv.FormatInt(to.UnixMicro(), 10)},
		"limit":   {strconv.Itoa(limit)},
	}
	var answer struct {
		Data []jaegerTrace `json:"data"`
	}
	if err := j.getJSON(ctx, "/api/traces", params, &answer); err != nil {
		return nil, err
	}
	out := make([]traces.Trace, 0, len(answer.Data))
	for _, t := range answer.Data {
		out = append(out, t.trace())
	}
	return out, nil
}

// getJSON sends one GET to Jaeger's API and decodes its JSON answer into v.
func (j *Jaeger) getJSON(ctx context.Context, path string, params url.Values, v any) error {
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	return j.get(ctx, path, jaegerHint, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("Jaeger at %s answered HTTP %s to %s\n(%s)", j.Where, resp.Status, resp.Request.URL.Path, jaegerHint)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return j.failed(resp.Request.Context(), fmt.Errorf("Jaeger at %s: reading its answer to %s: %s", j.Where, resp.Request.URL.Path, unreadable(err)))
		}
		return nil
	})
}

// TracesOf queries the traces of each service between from and to, several at once, and
// returns them merged (a trace with spans of several services once).
func (j *Jaeger) TracesOf(ctx context.Context, services []string, from, to time.Time, limit int) ([]traces.Trace, error) {
	results := make([][]traces.Trace, len(services))
	errs := make([]error, len(services))
	slots := make(chan struct{}, 8) // at most 8 queries in flight
	var wg sync.WaitGroup
	for i, service := range services {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i], errs[i] = j.Traces(ctx, service, from, to, limit)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errs[slices.IndexFunc(errs, func(e error) bool { return e != nil })]
	}
	seen := map[string]bool{}
	var merged []traces.Trace
	for _, list := range results {
		for _, t := range list {
			if !seen[t.ID] {
				seen[t.ID] = true
				merged = append(merged, t)
			}
		}
	}
	return merged, nil
}
