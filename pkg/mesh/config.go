// Package mesh holds everything that talks to the cluster: connection flags, clients for
// Kubernetes and Istio, the check that Istio is installed, and errors a user can act on.
package mesh

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ConfigFlags are kubectl's connection flags (--kubeconfig, --context, -n, --as,
// --request-timeout, ...). They are bound with client-go's clientcmd rather than
// cli-runtime's genericclioptions: the latter drags kustomize and the whole resource
// builder into every binary (about three times the size, twice the start-up) for flags
// we would not use.
type ConfigFlags struct {
	loadingRules *clientcmd.ClientConfigLoadingRules
	overrides    clientcmd.ConfigOverrides
	clientConfig clientcmd.ClientConfig
}

// NewConfigFlags returns flags that read the kubeconfig the way kubectl does
// (--kubeconfig, then $KUBECONFIG, then ~/.kube/config).
func NewConfigFlags() *ConfigFlags {
	return &ConfigFlags{loadingRules: clientcmd.NewDefaultClientConfigLoadingRules()}
}

// AddFlags registers the connection flags on fs.
func (f *ConfigFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.loadingRules.ExplicitPath, clientcmd.RecommendedConfigPathFlag, "",
		"Path to the kubeconfig file to use for CLI requests.")
	clientcmd.BindOverrideFlags(&f.overrides, fs, clientcmd.RecommendedConfigOverrideFlags(""))
}

// ToRawKubeConfigLoader returns the merged kubeconfig with the flags applied.
func (f *ConfigFlags) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	if f.clientConfig == nil {
		f.clientConfig = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(f.loadingRules, &f.overrides)
	}
	return f.clientConfig
}

// Namespace is the namespace from -n, else the kubeconfig context's, else "default";
// explicit is true when -n chose it.
func (f *ConfigFlags) Namespace() (ns string, explicit bool, err error) {
	ns, explicit, err = f.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		if ns := f.overrides.Context.Namespace; ns != "" {
			return ns, true, nil // -n needs no kubeconfig: Jaeger or Prometheus may still answer
		}
		return "", false, explainConfigError(err)
	}
	return ns, explicit, nil
}

// RESTConfig is the client configuration for the selected context.
func (f *ConfigFlags) RESTConfig() (*rest.Config, error) {
	cfg, err := f.ToRawKubeConfigLoader().ClientConfig()
	if err != nil {
		return nil, explainConfigError(err)
	}
	configure(cfg)
	return cfg, nil
}

// configure sets what every client of ours shares, whichever context it reaches.
func configure(cfg *rest.Config) {
	// Plugins are short-lived CLIs, like kubectl: allow bursts of reads at start-up.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "kubectl-mesh"
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return checkAnswers{rt} })
}

func explainConfigError(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return fmt.Errorf("no cluster to talk to: set KUBECONFIG or pass --kubeconfig (and --context) to name one")
	}
	var file *fs.PathError
	switch {
	case errors.As(err, &file) && errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("kubeconfig %s does not exist: check --kubeconfig and $KUBECONFIG", file.Path)
	case errors.As(err, &file):
		return fmt.Errorf("kubeconfig %s cannot be read (%v): check --kubeconfig and $KUBECONFIG", file.Path, file.Err)
	}
	return fmt.Errorf("reading kubeconfig: %w", err)
}

// Validate checks the connection flags' values before anything runs. A malformed
// --request-timeout otherwise surfaces only when the clients are built, and a command that can
// go on without a cluster (graph with a Prometheus URL) would go on, the flag ignored.
func (f *ConfigFlags) Validate() error {
	if t := f.overrides.Timeout; t != "" {
		if d, err := clientcmd.ParseTimeout(t); err != nil || d < 0 {
			return fmt.Errorf("--request-timeout %q is not a duration: give seconds (30) or a number with a unit (30s, 2m, 1h)", t)
		}
	}
	return nil
}

// RequestTimeout is --request-timeout (kubectl's forms: 30, 30s, 2m); 0 when it is not
// given, or malformed (building the clients then says so).
func (f *ConfigFlags) RequestTimeout() time.Duration {
	timeout, err := clientcmd.ParseTimeout(f.overrides.Timeout)
	if err != nil || f.overrides.Timeout == "" {
		return 0
	}
	return timeout
}
