package cmd

import (
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// clusterOptions is what every cluster-facing command shares: where to find the cluster,
// which namespace to work in, and where to print.
type clusterOptions struct {
	getter  mesh.ClientGetter
	streams genericiooptions.IOStreams

	namespace         string
	namespaceExplicit bool // -n was given
	clients           *mesh.Clients

	// The clusters of a multi-cluster mesh (--contexts); none: the current context alone.
	clusterSet

	// Which Prometheus to ask and how (--prometheus-url and the rest); the one namespace
	// searched for Jaeger ("": istio-system); and the Services found and warnings said, once
	// each.
	prom            prometheusFlags
	jaegerNamespace string
	announced       map[string]bool
	announcing      sync.Mutex // Locate may run beside other reads
}

// completeCluster resolves the namespace and builds clients. It sends no request.
func (o *clusterOptions) completeCluster() error {
	ns, explicit, err := o.getter.Namespace()
	if err != nil {
		return err
	}
	// Kept even when the clients cannot be built: graph still honours -n without a cluster.
	o.namespace, o.namespaceExplicit = ns, explicit
	o.clients, err = o.getter.Clients()
	return err
}

// prometheusTimeout bounds each Prometheus query: --request-timeout, else 30s, so that a
// Prometheus that accepts the connection and never answers does not hold the command.
func (o *clusterOptions) prometheusTimeout() time.Duration {
	if t := o.getter.RequestTimeout(); t > 0 {
		return t
	}
	return 30 * time.Second
}

// locator finds the Prometheus of the one cluster a command reads: flagURL, else
// --prometheus-url or the environment (the current context's entry when there is one per
// cluster), else the cluster when there is one to ask, each query bounded.
func (o *clusterOptions) locator(flagURL string) telemetry.Locator {
	var err error
	if flagURL == "" && o.prom.validated {
		flagURL, err = o.prom.single(o.currentContext())
	}
	l := o.locatorFor(flagURL, o.clients)
	l.Err = err
	return l
}

// locatorFor finds the Prometheus of a cluster whose clients are given (nil: none to ask):
// url when given, else the one discovered in it, with the headers, token and TLS options
// of the flags. Prometheus's warnings are said once each.
func (o *clusterOptions) locatorFor(url string, clients *mesh.Clients) telemetry.Locator {
	l := telemetry.Locator{FlagURL: url, Namespace: o.prom.namespace, Timeout: o.prometheusTimeout(),
		Found:   func(where string) { o.announce("Prometheus " + where) },
		Options: o.prom.options, Warn: o.warnOnce, Resolved: o.prom.validated}
	if o.prom.validated && url != "" {
		l.URLFrom = o.prom.from + " "
		if o.prom.from != "--prometheus-url" {
			l.URLFrom = o.prom.from + "="
		}
	}
	if o.prom.perCluster() && url == "" {
		l.Looked = o.prom.from + " (no entry for this cluster)"
	}
	if clients != nil {
		l.Services, l.RESTConfig = clients.Core, clients.Config
	}
	if o.multiCluster() && clients != nil && clients.Config != nil {
		// Each cluster's Prometheus is said, not only the first: the same Service name in
		// every cluster would read as one.
		host := output.RedactURL(clients.Config.Host)
		l.Found = func(where string) { o.announce(fmt.Sprintf("Prometheus %s (API server %s)", where, host)) }
	}
	return l
}

// currentContext is the kubeconfig context the command reads: --context, else the
// kubeconfig's current one; "" when the getter has no kubeconfig (tests).
func (o *clusterOptions) currentContext() string {
	f, ok := o.getter.(interface {
		ExplicitContext() string
		ToRawKubeConfigLoader() clientcmd.ClientConfig
	})
	if !ok {
		return ""
	}
	if name := f.ExplicitContext(); name != "" {
		return name
	}
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}

// jaegerLocator finds Jaeger: flagURL, else the environment, else the cluster.
func (o *clusterOptions) jaegerLocator(flagURL string) telemetry.JaegerLocator {
	prom := o.locatorFor("", o.clients)
	prom.Options = telemetry.ClientOptions{} // Prometheus's headers and token are not Jaeger's
	l := telemetry.JaegerLocator{FlagURL: flagURL, Namespace: o.jaegerNamespace, Locator: prom}
	l.Found = func(where string) { o.announce("Jaeger " + where) }
	return l
}

// announce says on stderr, once, which Service in the cluster telemetry comes from: the
// user sees whose figures lockdown, canary and graph go by.
func (o *clusterOptions) announce(what string) {
	o.announcing.Lock()
	defer o.announcing.Unlock()
	if o.announced[what] {
		return
	}
	if o.announced == nil {
		o.announced = map[string]bool{}
	}
	o.announced[what] = true
	fmt.Fprintf(o.streams.ErrOut, "telemetry: %s\n", what)
}

// warnOnce says a warning on stderr once, however many queries (or clusters) repeat it.
func (o *clusterOptions) warnOnce(warning string) {
	o.announcing.Lock()
	defer o.announcing.Unlock()
	if o.announced["warning: "+warning] {
		return
	}
	if o.announced == nil {
		o.announced = map[string]bool{}
	}
	o.announced["warning: "+warning] = true
	o.warn(warning)
}

// addTelemetryNamespaceFlags completes --prometheus-namespace (registered by
// prometheusFlags.addFlags, which goes first) and, with jaeger, registers
// --jaeger-namespace: the one namespace each is searched for when no URL names it.
func (o *clusterOptions) addTelemetryNamespaceFlags(c *cobra.Command, jaeger bool) {
	completeFlag(c, "prometheus-namespace", completer{o.getter}.namespaces)
	if jaeger {
		c.Flags().StringVar(&o.jaegerNamespace, "jaeger-namespace", "", "Namespace to find Jaeger (service tracing) in when no URL names it (default: istio-system).")
		completeFlag(c, "jaeger-namespace", completer{o.getter}.namespaces)
	}
}

// warn prints warnings to stderr, where they do not mix with results.
func (o *clusterOptions) warn(warnings ...string) {
	output.Warn(o.streams.ErrOut, warnings...)
}

// addDryRunFlag registers kubectl's --dry-run (a bare --dry-run means client) and its
// completion.
func addDryRunFlag(c *cobra.Command, value *string) {
	addDryRunFlagTo(c.Flags(), value)
	completeFlag(c, "dry-run", fixedValues(string(mesh.DryRunNone), string(mesh.DryRunClient), string(mesh.DryRunServer)))
}

func addDryRunFlagTo(fs *pflag.FlagSet, value *string) {
	fs.StringVar(value, "dry-run", string(mesh.DryRunNone), `"none" writes; "client" prints what would be written; "server" has the API server check the writes without persisting them.`)
	fs.Lookup("dry-run").NoOptDefVal = string(mesh.DryRunClient)
}

// addObjectOutputFlag registers -o for commands that print the objects they write.
func addObjectOutputFlag(c *cobra.Command, value *string, usage string) {
	c.Flags().StringVarP(value, "output", "o", "", usage)
	completeFlag(c, "output", fixedValues(output.Formats...))
}
