package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/traces"
)

// EnvJaegerURL names Jaeger when --jaeger-url does not.
const EnvJaegerURL = "MESH_JAEGER_URL"

// Jaeger is a Jaeger query service's HTTP JSON API (the one its UI reads), and how it was
// found, for messages.
type Jaeger struct {
	url     string // the API's base (with Jaeger's base path), without a trailing slash
	client  *http.Client
	timeout time.Duration
	Where   string
	// UI is the base of links to open a trace in Jaeger's UI; empty when the user cannot
	// reach it directly (through the API server's proxy).
	UI string
}

// JaegerLocator finds Jaeger: the flag, else the environment, else Istio's addon in the
// cluster (service tracing in istio-system, port 80, served under /jaeger).
type JaegerLocator struct {
	FlagURL string
	Locator // the cluster access and timeout Prometheus is found with
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
	direct := func(raw, where string) (*Jaeger, error) {
		if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
			return nil, fmt.Errorf("%s: not an http:// or https:// URL", where)
		}
		base := strings.TrimSuffix(raw, "/")
		return &Jaeger{url: base, client: http.DefaultClient, Where: where, UI: base}, nil
	}
	if l.FlagURL != "" {
		return direct(l.FlagURL, "--jaeger-url "+l.FlagURL)
	}
	if env := os.Getenv(EnvJaegerURL); env != "" {
		return direct(env, EnvJaegerURL+"="+env)
	}
	looked := "--jaeger-url (not given), $" + EnvJaegerURL + " (not set)"
	if l.Services == nil || l.RESTConfig == nil {
		return nil, fmt.Errorf("no Jaeger to ask: looked at %s, and there is no cluster to search; pass --jaeger-url", looked)
	}
	svc, err := l.Services.Services(istio.InstallNamespace).Get(ctx, "tracing", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("no Jaeger found: looked at %s and service tracing in %s (Istio's addon: kubectl apply -f samples/addons/jaeger.yaml); pass --jaeger-url", looked, istio.InstallNamespace)
	case err != nil:
		return nil, fmt.Errorf("looking for Jaeger (service %s/tracing): %w; pass --jaeger-url", istio.InstallNamespace, err)
	}
	url, client, err := serviceProxy(l.RESTConfig, svc, jaegerPort(svc))
	if err != nil {
		return nil, err
	}
	return &Jaeger{url: url + "/jaeger", client: client, Where: fmt.Sprintf("service %s/tracing (through the API server's proxy)", svc.Namespace)}, nil
}

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
	return j.UI + "/trace/" + id
}

// Services lists the service names Jaeger holds spans of.
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	var answer struct {
		Data []string `json:"data"`
	}
	err := j.get(ctx, "/api/services", nil, &answer)
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
	if err := j.get(ctx, "/api/traces", params, &answer); err != nil {
		return nil, err
	}
	out := make([]traces.Trace, 0, len(answer.Data))
	for _, t := range answer.Data {
		out = append(out, t.trace())
	}
	return out, nil
}

var errJaegerTimedOut = errors.New("Jaeger query timed out")

// get sends one GET to Jaeger's API and decodes its JSON answer into v.
func (j *Jaeger) get(ctx context.Context, path string, params url.Values, v any) error {
	if j.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, j.timeout, errJaegerTimedOut)
		defer cancel()
	}
	target := j.url + path
	if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("Jaeger at %s: %v", j.Where, err)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return j.failed(ctx, fmt.Errorf("cannot reach Jaeger at %s: %v\n(check that it is up, or pass --jaeger-url)", j.Where, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("Jaeger at %s answered HTTP %s to %s, not its API's JSON: %q\n(is it Jaeger's query service? Istio's addon serves it under /jaeger: check the URL's base path)", j.Where, resp.Status, path, bytes.TrimSpace(start))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return j.failed(ctx, fmt.Errorf("Jaeger at %s: reading its answer to %s: %v", j.Where, path, err))
	}
	return nil
}

func (j *Jaeger) failed(ctx context.Context, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), errJaegerTimedOut):
		return fmt.Errorf("Jaeger at %s did not answer within %s (--request-timeout)", j.Where, j.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("interrupted while waiting for Jaeger at %s", j.Where)
	}
	return err
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
