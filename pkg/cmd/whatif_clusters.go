package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/whatif"
)

// runClusters is what-if over the clusters of --contexts: the change made in every cluster,
// each observed edge replayed against the policies of the cluster its destination ran in.
// A cluster that does not answer is named, and the others are replayed.
func (o *WhatIfOptions) runClusters(ctx context.Context) error {
	clusters, err := o.readableClusters(ctx)
	if err != nil {
		return err
	}
	edit, err := o.readEdit()
	if err != nil {
		return err
	}
	scope := o.scopeOf(edit)
	var (
		inputs   []whatif.ClusterInput
		observed []whatif.Observation
		promErr  error
		wg       sync.WaitGroup
	)
	// Prometheus is asked while the clusters are read, for Istio's default root namespace:
	// a cluster whose root namespace differs and is in scope has it asked again below.
	promScope := scopeFor(scope, istio.DefaultRootNamespace)
	wg.Go(func() { inputs = o.readClustersInput(ctx, clusters, scope) })
	wg.Go(func() { observed, promErr = o.observedAcross(ctx, clusters, promScope, o.Window) })
	wg.Wait()
	if len(inputs) == 0 {
		return fmt.Errorf("no cluster of --contexts could be read: see the warnings above")
	}
	all := false
	for _, in := range inputs {
		all = all || slices.Contains(scope, in.Cluster.Mesh.RootNamespace) && in.Note == ""
	}
	if all && promScope != nil {
		observed, promErr = o.observedAcross(ctx, clusters, nil, o.Window)
	}
	if promErr != nil {
		return promErr
	}
	result, notes, err := whatif.ReplayClusters(inputs, edit, observed, time.Now())
	o.warn(notes...)
	if err != nil {
		return err
	}
	o.warn(result.Elsewhere...)
	if all {
		scope = namespacesOfAll(inputs)
	}
	report := whatif.NewReport(o.Window, scope, all, whatif.MergeSteps(result.Clusters), result.Result)
	report.Clusters = result.Clusters
	return o.report(report, result.Unresolved)
}

// scopeFor is the namespaces to read: nil (all) when scope holds the root namespace.
func scopeFor(scope []string, root string) []string {
	if slices.Contains(scope, root) {
		return nil
	}
	return scope
}

// readClustersInput reads every cluster at once; a cluster that cannot be read is named
// and left out (what-if only reads), one without any namespace of scope has nothing to replay.
func (o *WhatIfOptions) readClustersInput(ctx context.Context, clusters []mesh.Cluster, scope []string) []whatif.ClusterInput {
	inputs := make([]whatif.ClusterInput, len(clusters))
	errs := make([]error, len(clusters))
	warnings := make([][]string, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() { inputs[i], warnings[i], errs[i] = readWhatIfCluster(ctx, c, scope) })
	}
	wg.Wait()
	var out []whatif.ClusterInput
	for i, c := range clusters {
		for _, w := range warnings[i] {
			o.warn(fmt.Sprintf("%s: %s", c, w))
		}
		if errs[i] != nil {
			o.warn(fmt.Sprintf("%s: %v; its edges are not replayed", c, mesh.Explain(errs[i])))
			continue
		}
		out = append(out, inputs[i])
	}
	return out
}

// readWhatIfCluster reads one cluster as the single-cluster what-if reads its own: with the
// namespaces of scope it holds (namespace sameness: a namespace may be in some clusters only),
// every namespace when scope holds its root namespace.
func readWhatIfCluster(ctx context.Context, c mesh.Cluster, scope []string) (whatif.ClusterInput, []string, error) {
	in := whatif.ClusterInput{ID: c.ID, Context: c.Context}
	present := slices.Clone(scope)
	root := istio.DefaultRootNamespace
	for {
		cluster, policies, warnings, err := c.Clients.ReadWhatIfInput(ctx, scopeFor(present, root))
		var missing *mesh.NamespaceNotFoundError
		switch {
		case errors.As(err, &missing) && slices.Contains(present, missing.Namespace):
			present = slices.DeleteFunc(present, func(ns string) bool { return ns == missing.Namespace })
			if len(present) == 0 {
				in.Note = "none of the namespaces replayed is in it"
				return in, nil, nil
			}
			continue
		case err != nil:
			return in, warnings, err
		case cluster.Mesh.RootNamespace != root && slices.Contains(present, cluster.Mesh.RootNamespace):
			root = cluster.Mesh.RootNamespace
			continue
		}
		in.Cluster, in.Policies = cluster, policies
		return in, warnings, nil
	}
}

// observedAcross reads the edges into namespaces (nil: all) from every cluster's Prometheus,
// one query per distinct URL: one for the whole mesh (a global Prometheus names each edge's
// cluster), else each cluster's own, whose edges end in that cluster. A Prometheus that does
// not answer is named, and the others are replayed.
func (o *clusterOptions) observedAcross(ctx context.Context, clusters []mesh.Cluster, namespaces []string, window string) ([]whatif.Observation, error) {
	type source struct {
		url     string
		cluster mesh.Cluster // the first cluster it serves, whose clients may find it
		shared  bool         // it serves several clusters (or the whole mesh)
	}
	var sources []source
	for _, c := range clusters {
		url, given := o.prom.urlFor(c.ID, c.Context)
		i := slices.IndexFunc(sources, func(s source) bool { return given && s.url == url })
		if i >= 0 {
			sources[i].shared = true
			continue
		}
		// One URL for the whole mesh names each edge's cluster; a cluster's own holds its edges.
		sources = append(sources, source{url: url, cluster: c, shared: given && !o.prom.perCluster()})
	}
	found := make([][]whatif.Observation, len(sources))
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			prom, err := o.locatorFor(s.url, s.cluster.Clients).Locate(ctx)
			if err == nil {
				found[i], err = prom.ObservedEdges(ctx, namespaces, window, time.Now())
			}
			if errs[i] = err; err == nil && !s.shared {
				found[i] = whatif.InCluster(found[i], s.cluster.ID)
			}
		})
	}
	wg.Wait()
	var failed []error
	for i, s := range sources {
		if errs[i] != nil {
			where := fmt.Sprintf("Prometheus of %s", s.cluster)
			if s.shared {
				where = "Prometheus " + redactEntry(s.url) // never the URL's password
			}
			failed = append(failed, fmt.Errorf("%s: %w", where, errs[i]))
		}
	}
	if len(failed) == len(sources) {
		return nil, fmt.Errorf("what-if replays the traffic Prometheus saw, and could not read it: %w", errors.Join(failed...))
	}
	for _, err := range failed {
		o.warn(fmt.Sprintf("%v; the edges it holds are not replayed", err))
	}
	return slices.Concat(found...), nil
}

func namespacesOfAll(inputs []whatif.ClusterInput) []string {
	var names []string
	for _, in := range inputs {
		names = append(names, namespacesOf(in.Cluster)...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
