package cmd

import (
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

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

	// The one namespace searched for Prometheus and Jaeger ("": istio-system), and the
	// Services found there, said once each.
	prometheusNamespace, jaegerNamespace string
	announced                            map[string]bool
	announcing                           sync.Mutex // Locate may run beside other reads
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

// locator finds Prometheus (or, inside a JaegerLocator, Jaeger): flagURL, else the
// environment, else the cluster when there is one to ask, each query bounded.
func (o *clusterOptions) locator(flagURL string) telemetry.Locator {
	l := telemetry.Locator{FlagURL: flagURL, Namespace: o.prometheusNamespace, Timeout: o.prometheusTimeout(),
		Found: func(where string) { o.announce("Prometheus " + where) }}
	if o.clients != nil {
		l.Services, l.RESTConfig = o.clients.Core, o.clients.Config
	}
	return l
}

// jaegerLocator finds Jaeger: flagURL, else the environment, else the cluster.
func (o *clusterOptions) jaegerLocator(flagURL string) telemetry.JaegerLocator {
	l := telemetry.JaegerLocator{FlagURL: flagURL, Namespace: o.jaegerNamespace, Locator: o.locator("")}
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

// addTelemetryNamespaceFlags registers --prometheus-namespace and, with jaeger,
// --jaeger-namespace: the one namespace each is searched for when no URL names it.
func (o *clusterOptions) addTelemetryNamespaceFlags(c *cobra.Command, jaeger bool) {
	c.Flags().StringVar(&o.prometheusNamespace, "prometheus-namespace", "", "Namespace to find Prometheus in when no URL names it: service prometheus, else one labelled app.kubernetes.io/name=prometheus (default: istio-system).")
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
