package cmd

import (
	"fmt"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// Environment variables for scripts: the same as the flags, which win over them.
const (
	envPrometheusHeaders   = "MESH_PROMETHEUS_HEADERS"
	envPrometheusTokenFile = "MESH_PROMETHEUS_TOKEN_FILE"
	envPrometheusCA        = "MESH_PROMETHEUS_CA"
	envPrometheusInsecure  = "MESH_PROMETHEUS_INSECURE_SKIP_TLS_VERIFY"
)

// prometheusFlags say which Prometheus to ask and how, as production runs it: one URL for
// the whole mesh (a global Prometheus federating the clusters', Thanos Query, Mimir) or one
// per cluster, behind a tenant header, a bearer token or a private CA.
type prometheusFlags struct {
	urls      []string
	headers   []string
	tokenFile string
	caFile    string
	insecure  bool
	namespace string // --prometheus-namespace: where to find it when no URL names it

	// Set by validate.
	validated bool
	from      string            // "--prometheus-url" or "$MESH_PROMETHEUS_URL"
	global    string            // the one URL for the whole mesh
	byCluster map[string]string // CLUSTER=URL entries
	options   telemetry.ClientOptions
}

func (p *prometheusFlags) addFlags(c *cobra.Command, urlUsage string) {
	f := c.Flags()
	f.StringArrayVar(&p.urls, "prometheus-url", nil, urlUsage+" One URL for the whole mesh (a global Prometheus, Thanos Query, Mimir), or CLUSTER=URL once per cluster (an Istio cluster ID or a kubeconfig context); a cluster without one has its own found in it. Basic auth may be in the URL (https://user:password@host). Default: $MESH_PROMETHEUS_URL (entries separated by commas), else found in the cluster.")
	f.StringArrayVar(&p.headers, "prometheus-header", nil, "Header sent to Prometheus, 'Name: value' (repeatable), e.g. 'X-Scope-OrgID: team-a' for Mimir or Cortex (default: $MESH_PROMETHEUS_HEADERS, one per line or separated by ';').")
	f.StringVar(&p.tokenFile, "prometheus-token-file", "", "File holding a bearer token for Prometheus, read at each request so that a rotated token is used; needs --prometheus-url (default: $MESH_PROMETHEUS_TOKEN_FILE).")
	f.StringVar(&p.caFile, "prometheus-ca", "", "PEM file of the CA to trust for an https --prometheus-url instead of the system's (default: $MESH_PROMETHEUS_CA).")
	f.BoolVar(&p.insecure, "prometheus-insecure-skip-tls-verify", false, "Accept any certificate from an https --prometheus-url: insecure (default: $MESH_PROMETHEUS_INSECURE_SKIP_TLS_VERIFY=true).")
	f.StringVar(&p.namespace, "prometheus-namespace", "", "Namespace to find Prometheus in when no URL names it: service prometheus, else one labelled app.kubernetes.io/name=prometheus (default: istio-system).")
}

// validate reads the flags, else the environment, into URLs and client options. No I/O:
// the files are read when Prometheus is asked.
func (p *prometheusFlags) validate() error {
	p.validated = true
	urls, from := p.urls, "--prometheus-url"
	if len(urls) == 0 {
		if env := os.Getenv(telemetry.EnvPrometheusURL); env != "" {
			urls, from = strings.Split(env, ","), "$"+telemetry.EnvPrometheusURL
		}
	}
	p.from = from
	var err error
	if p.global, p.byCluster, err = parsePrometheusURLs(urls, from); err != nil {
		return err
	}
	lines, from := p.headers, "--prometheus-header"
	if len(lines) == 0 {
		if env := os.Getenv(envPrometheusHeaders); strings.TrimSpace(env) != "" {
			lines = strings.FieldsFunc(env, func(r rune) bool { return r == '\n' || r == ';' })
			from = "$" + envPrometheusHeaders
		}
	}
	if p.options.Headers, err = parseHeaders(lines, from); err != nil {
		return err
	}
	p.options.TokenFile = firstOf(p.tokenFile, os.Getenv(envPrometheusTokenFile))
	p.options.CAFile = firstOf(p.caFile, os.Getenv(envPrometheusCA))
	p.options.InsecureSkipTLSVerify = p.insecure
	if env := os.Getenv(envPrometheusInsecure); env != "" && !p.insecure {
		if p.options.InsecureSkipTLSVerify, err = strconv.ParseBool(env); err != nil {
			return fmt.Errorf("$%s=%q: give true or false", envPrometheusInsecure, env)
		}
	}
	if p.options.CAFile != "" && p.options.InsecureSkipTLSVerify {
		return fmt.Errorf("--prometheus-ca and --prometheus-insecure-skip-tls-verify contradict each other: trust the CA, or skip the check, not both")
	}
	return nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// parsePrometheusURLs reads one plain URL, or CLUSTER=URL entries. An entry that begins with
// a scheme is a URL: a context name may hold ':' and '/' (EKS's ARNs), but not "://".
func parsePrometheusURLs(entries []string, from string) (string, map[string]string, error) {
	var global string
	byCluster := map[string]string{}
	for _, raw := range entries {
		entry := strings.TrimSpace(raw)
		cluster, url, isEntry := strings.Cut(entry, "=")
		if strings.Contains(cluster, "://") {
			isEntry = false
		}
		switch {
		case entry == "":
			return "", nil, fmt.Errorf("%s: an empty entry: give one URL, or CLUSTER=URL per cluster", from)
		case isEntry && strings.TrimSpace(cluster) == "":
			return "", nil, fmt.Errorf("%s %q: no cluster before '=': give CLUSTER=URL", from, redactEntry(entry))
		case isEntry && strings.TrimSpace(url) == "":
			return "", nil, fmt.Errorf("%s %q: no URL after '=': give CLUSTER=URL", from, cluster)
		case isEntry && byCluster[strings.TrimSpace(cluster)] != "":
			return "", nil, fmt.Errorf("%s: cluster %s is given twice: give one URL per cluster", from, strings.TrimSpace(cluster))
		case isEntry:
			byCluster[strings.TrimSpace(cluster)] = strings.TrimSpace(url)
		case global != "":
			return "", nil, fmt.Errorf("%s: more than one URL without a cluster: give one URL for the whole mesh, or CLUSTER=URL per cluster", from)
		default:
			global = entry
		}
	}
	if global != "" && len(byCluster) > 0 {
		return "", nil, fmt.Errorf("%s: mixes one URL for the whole mesh with CLUSTER=URL entries: give either one URL, or CLUSTER=URL for each cluster", from)
	}
	return global, byCluster, nil
}

// redactEntry is an entry without the URL's user info, for messages.
func redactEntry(entry string) string {
	if at := strings.LastIndex(entry, "@"); at >= 0 {
		if scheme := strings.Index(entry, "://"); scheme >= 0 && scheme < at {
			return entry[:scheme+3] + "REDACTED@" + entry[at+1:]
		}
	}
	return entry
}

// parseHeaders reads 'Name: value' lines; the values never appear in a message (they may
// be credentials).
func parseHeaders(lines []string, from string) (http.Header, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	headers := http.Header{}
	for _, line := range lines {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || name == "":
			return nil, fmt.Errorf("%s: %s is not 'Name: value' (e.g. 'X-Scope-OrgID: team-a')", from, headerName(line))
		case !validHeaderName(name):
			return nil, fmt.Errorf("%s: %q is not a header name: letters, digits and -_.!#$%%&'*+^`|~ only", from, name)
		case strings.ContainsAny(value, "\r\n\x00"):
			return nil, fmt.Errorf("%s %s: the value holds a line break", from, name)
		}
		headers.Add(textproto.CanonicalMIMEHeaderKey(name), value)
	}
	return headers, nil
}

// headerName is what a message may quote of a line that is not 'Name: value': the text
// before any ':' or space, never what may be a secret (a token given alone).
func headerName(line string) string {
	line = strings.TrimSpace(line)
	if i := strings.IndexAny(line, ": \t"); i >= 0 {
		return strconv.Quote(line[:i] + "...")
	}
	return fmt.Sprintf("a value of %d characters", len(line))
}

func validHeaderName(name string) bool {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.!#$%&'*+^`|~", r)) {
			return false
		}
	}
	return name != ""
}

// given tells whether some URL came from the flag or the environment.
func (p *prometheusFlags) given() bool { return p.global != "" || len(p.byCluster) > 0 }

// perCluster tells whether CLUSTER=URL entries were given.
func (p *prometheusFlags) perCluster() bool { return len(p.byCluster) > 0 }

// urlFor is the URL for a cluster: its entry by cluster ID, else by context name, else the
// global URL; false when none was given (Prometheus is found in that cluster).
func (p *prometheusFlags) urlFor(clusterID, context string) (string, bool) {
	if url, ok := p.byCluster[clusterID]; ok && clusterID != "" {
		return url, true
	}
	if url, ok := p.byCluster[context]; ok && context != "" {
		return url, true
	}
	return p.global, p.global != ""
}

// single is the URL for a command that reads one cluster: the global URL, else the entry of
// the current context; entries that name other clusters only are an error, not a search.
func (p *prometheusFlags) single(context string) (string, error) {
	if !p.perCluster() {
		return p.global, nil
	}
	if url, ok := p.byCluster[context]; ok && context != "" {
		return url, nil
	}
	clusters := make([]string, 0, len(p.byCluster))
	for name := range p.byCluster {
		clusters = append(clusters, name)
	}
	slices.Sort(clusters)
	return "", fmt.Errorf("%s names Prometheus for clusters %s, not for the current context %q: add %s=URL, or give one URL", p.from, strings.Join(clusters, ", "), context, firstOf(context, "CONTEXT"))
}
