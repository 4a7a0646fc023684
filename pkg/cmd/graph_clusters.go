package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/graph"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// meshSources are what a graph of several clusters reads: the clusters that answered, and the
// Prometheus servers holding their telemetry (one for the whole mesh, or one per cluster).
type meshSources struct {
	clusters []mesh.Cluster
	proms    []*telemetry.Prometheus
	// policies are each cluster's PeerAuthentications and root namespace, by cluster ID:
	// each cluster's istiod programs its own proxies.
	policies map[string]meshPolicy
}

// connectClusters reaches the clusters of --contexts and their telemetry. Read-only: a
// cluster that does not answer, or whose Prometheus does not, is named on stderr and the
// graph is drawn from the others.
func (o *GraphOptions) connectClusters(ctx context.Context) (*meshSources, error) {
	clusters, err := o.readableClusters(ctx)
	if err != nil {
		return nil, err
	}
	src := &meshSources{clusters: clusters, policies: map[string]meshPolicy{}}
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		policyErrs []error
	)
	for _, c := range clusters {
		wg.Go(func() {
			policy, warnings, err := o.readClusterPolicy(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			o.warn(warnings...)
			if err != nil {
				policyErrs = append(policyErrs, fmt.Errorf("%s: %w", c, err))
				return
			}
			src.policies[c.ID] = policy
		})
	}
	src.proms, err = o.locateClusterPrometheus(ctx, clusters)
	wg.Wait()
	if len(policyErrs) == len(clusters) {
		return nil, errors.Join(policyErrs...) // no Istio, or no such namespace, anywhere
	}
	for _, e := range policyErrs {
		o.warn(mesh.Explain(e).Error())
	}
	return src, err
}

// readClusterPolicy reads one cluster's PeerAuthentications and mesh config, and checks the
// namespace there.
func (o *GraphOptions) readClusterPolicy(ctx context.Context, c mesh.Cluster) (meshPolicy, []string, error) {
	one := &GraphOptions{clusterOptions: clusterOptions{getter: o.getter, streams: o.streams, namespace: o.namespace, clients: c.Clients}, AllNamespaces: o.AllNamespaces}
	policy, warnings, err := one.readPolicy(ctx)
	for i, w := range warnings {
		warnings[i] = fmt.Sprintf("%s: %s", c, w)
	}
	return policy, warnings, err
}

// locateClusterPrometheus finds the Prometheus servers to ask: the one URL for the whole
// mesh when one was given, else each cluster's (its --prometheus-url entry, or the one found
// in it). A cluster whose Prometheus cannot be found is named; its edges are missing.
func (o *GraphOptions) locateClusterPrometheus(ctx context.Context, clusters []mesh.Cluster) ([]*telemetry.Prometheus, error) {
	if o.prom.given() && !o.prom.perCluster() {
		prom, err := o.locatorFor(o.prom.global, clusters[0].Clients).Locate(ctx)
		if err != nil {
			return nil, err
		}
		return []*telemetry.Prometheus{prom}, nil
	}
	proms := make([]*telemetry.Prometheus, len(clusters))
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() {
			url, _ := o.prom.urlFor(c.ID, c.Context)
			if proms[i], errs[i] = o.locatorFor(url, c.Clients).Locate(ctx); errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", c, errs[i])
			}
		})
	}
	wg.Wait()
	var found []*telemetry.Prometheus
	for i, p := range proms {
		if errs[i] != nil {
			o.warn(fmt.Sprintf("%v: the edges this cluster's proxies reported are missing", mesh.Explain(errs[i])))
			continue
		}
		found = append(found, p)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no Prometheus found for any cluster of --contexts:\n%s", indentErrors(errs))
	}
	return found, nil
}

// connectEntries reads the Prometheus of every --prometheus-url CLUSTER=URL entry when no
// --contexts names the clusters: the graph of the whole mesh's telemetry, edges keyed by the
// clusters it names, without the PeerAuthentication check, which needs each cluster read.
func (o *GraphOptions) connectEntries(ctx context.Context) (*meshSources, error) {
	if err := o.completeCluster(); err != nil {
		o.AllNamespaces = o.AllNamespaces || !o.namespaceExplicit // no cluster: -n or the whole mesh
	}
	o.warn("mTLS policy checks skipped: give --contexts to read each cluster's PeerAuthentications beside its Prometheus")
	src := &meshSources{policies: map[string]meshPolicy{}}
	for _, cluster := range slices.Sorted(maps.Keys(o.prom.byCluster)) {
		prom, err := o.locatorFor(o.prom.byCluster[cluster], nil).Locate(ctx)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cluster, err)
		}
		src.proms = append(src.proms, prom)
	}
	return src, nil
}

func indentErrors(errs []error) string {
	var lines []string
	for _, e := range errs {
		if e != nil {
			lines = append(lines, "  "+mesh.Explain(e).Error())
		}
	}
	return strings.Join(lines, "\n")
}

// fetchClusters asks every Prometheus at once and merges the answers: each holds what its
// cluster's proxies reported, so a cross-cluster call is its caller's report in one and its
// callee's in the other, counted once as in one Prometheus.
func (o *GraphOptions) fetchClusters(ctx context.Context, src *meshSources, namespace string, at time.Time) (*telemetry.Samples, error) {
	answers := make([]*telemetry.Samples, len(src.proms))
	errs := make([]error, len(src.proms))
	var wg sync.WaitGroup
	for i, prom := range src.proms {
		wg.Go(func() { answers[i], errs[i] = o.fetch(ctx, prom, namespace, at) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	merged := &telemetry.Samples{Evaluated: at}
	for _, a := range answers {
		merged.Merge(a)
	}
	return merged, nil
}

// drawClusters draws one frame of the graph of several clusters: edges keyed by cluster,
// each edge's mTLS judged by its destination cluster's PeerAuthentications.
func (o *GraphOptions) drawClusters(ctx context.Context, w io.Writer, src *meshSources) error {
	at, namespace := o.frame()
	samples, err := o.fetchClusters(ctx, src, namespace, at)
	if err != nil {
		return err
	}
	g := graph.Build(samples, o.Window, namespace)
	if len(g.Edges) == 0 {
		if err := o.checkIstioMetrics(ctx, src.proms, at); err != nil {
			return err
		}
	} else {
		o.noteYoungData(ctx, src.proms[0], at)
	}
	read := make([]graph.Cluster, len(src.clusters))
	for i, c := range src.clusters {
		read[i] = c.Cluster
		if policy, ok := src.policies[c.ID]; ok {
			graph.CheckMTLSIn(g, c.ID, policy.peerAuthentications, policy.rootNamespace)
		}
	}
	g.AddClusters(read)
	g.Sort(o.Sort)
	return graph.Render(w, g, o.Output, o.style)
}

// checkIstioMetrics errs when no Prometheus asked holds any of Istio's metrics: an empty
// graph then means a Prometheus that scrapes no proxy, not a quiet mesh.
func (o *GraphOptions) checkIstioMetrics(ctx context.Context, proms []*telemetry.Prometheus, at time.Time) error {
	window, _ := model.ParseDuration(o.Window)
	var where []string
	for _, prom := range proms {
		found, err := prom.HasIstioMetrics(ctx, at.Add(-time.Duration(window)), at)
		if err != nil {
			return err
		}
		if found {
			return nil
		}
		where = append(where, prom.Where)
	}
	return fmt.Errorf("no Istio metrics (istio_requests_total, istio_tcp_sent_bytes_total) in Prometheus at %s: is it scraping the sidecars (port 15090 or 15020)?", strings.Join(where, ", "))
}
