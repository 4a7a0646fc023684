package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// DefaultClusterID is the cluster ID istiod runs with when its install names none
// (values.global.multiCluster.clusterName unset): what single-cluster telemetry carries as
// source_cluster and destination_cluster.
const DefaultClusterID = "Kubernetes"

// Cluster is one cluster of a mesh as a command reaches it: the kubeconfig context it was
// named by, the ID Istio knows it by (which need not be the context's name), and its clients.
type Cluster struct {
	istio.Cluster
	Clients *Clients `json:"-"`
	// Err says why the cluster could not be reached or read; nil when it answered.
	Err error `json:"-"`
	// Note says how the ID was chosen when istiod did not say (no istiod in the cluster, or
	// no right to read it).
	Note string `json:"-"`
}

// ClustersGetter reaches the clusters named by kubeconfig contexts. ConfigFlags implements it.
type ClustersGetter interface {
	// ClientsFor builds clients for a kubeconfig context; it makes no request.
	ClientsFor(context string) (*Clients, error)
}

// ClientsFor builds clients for the named kubeconfig context, with every other connection flag
// (--kubeconfig, --as, --request-timeout) applied as for the current one.
func (f *ConfigFlags) ClientsFor(name string) (*Clients, error) {
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, explainConfigError(err)
	}
	if _, ok := raw.Contexts[name]; !ok {
		known := make([]string, 0, len(raw.Contexts))
		for k := range raw.Contexts {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("context %q is not in the kubeconfig (its contexts: %s): check --contexts", name, strings.Join(known, ", "))
	}
	overrides := f.overrides
	overrides.CurrentContext = name
	// The cluster and user come from that context, not from the current one's overrides.
	overrides.Context.Cluster, overrides.Context.AuthInfo = "", ""
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(f.loadingRules, &overrides)
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", name, explainConfigError(err))
	}
	configure(cfg)
	return NewClients(cfg)
}

// ExplicitContext is --context when given: a command that takes --contexts refuses both.
func (f *ConfigFlags) ExplicitContext() string { return f.overrides.CurrentContext }

// ConnectClusters builds clients for every context and reads, in parallel, the cluster ID each
// cluster's istiod runs with. A cluster that cannot be reached keeps its Err; the others are
// unaffected. The order is the contexts'.
func ConnectClusters(ctx context.Context, getter ClustersGetter, contexts []string) []Cluster {
	clusters := make([]Cluster, len(contexts))
	var wg sync.WaitGroup
	for i, name := range contexts {
		wg.Go(func() {
			c := Cluster{Cluster: istio.Cluster{Context: name}}
			defer func() { clusters[i] = c }()
			if c.Clients, c.Err = getter.ClientsFor(name); c.Err != nil {
				return
			}
			c.ID, c.Note, c.Err = c.Clients.ClusterID(ctx)
			if c.Err != nil {
				c.Err = fmt.Errorf("%s: %w", c, c.Err)
			} else if c.ID == "" {
				c.ID = name
			}
		})
	}
	wg.Wait()
	return clusters
}

// ClusterID is the cluster ID the cluster's istiod runs with: the CLUSTER_ID of an istiod
// Deployment in istio-system (of any revision; they agree in a sound install), else Istio's
// default. When istiod cannot be read (no right to, or an external control plane), ID is ""
// and note says why; err is only a cluster that does not answer.
func (c *Clients) ClusterID(ctx context.Context) (id, note string, err error) {
	list, err := c.list(ctx, Deployments, istio.InstallNamespace, metav1.ListOptions{LabelSelector: "app=istiod"})
	var missing *ErrIstioNotInstalled
	switch {
	case apierrors.IsForbidden(err):
		return "", "you may not list deployments in " + istio.InstallNamespace + ": named by its context", nil
	case errors.As(err, &missing), apierrors.IsNotFound(err):
		return "", "no istiod found: named by its context", nil
	case err != nil:
		return "", "", err
	}
	if len(list) == 0 {
		return "", "no istiod in " + istio.InstallNamespace + " (a remote cluster?): named by its context", nil
	}
	slices.SortFunc(list, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, d := range list {
		if id := ContainerEnv(d, "CLUSTER_ID"); id != "" {
			return id, "", nil
		}
	}
	return DefaultClusterID, "", nil
}

// ContainerEnv is the literal value of an environment variable in a Deployment's containers,
// "" when no container sets it.
func ContainerEnv(d *unstructured.Unstructured, name string) string {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		container, _ := c.(map[string]any)
		env, _, _ := unstructured.NestedSlice(container, "env")
		for _, e := range env {
			v, _ := e.(map[string]any)
			if v["name"] == name {
				value, _ := v["value"].(string)
				return value
			}
		}
	}
	return ""
}

// DuplicateIDs names the cluster IDs more than one cluster runs with: their telemetry cannot
// be told apart, so a multi-cluster mesh needs distinct IDs.
func DuplicateIDs(clusters []Cluster) []string {
	byID := map[string][]string{}
	for _, c := range clusters {
		if c.Err == nil {
			byID[c.ID] = append(byID[c.ID], c.Context)
		}
	}
	var out []string
	for id, contexts := range byID {
		if len(contexts) > 1 {
			out = append(out, fmt.Sprintf("contexts %s all run istiod with cluster ID %s", strings.Join(contexts, ", "), id))
		}
	}
	sort.Strings(out)
	return out
}
