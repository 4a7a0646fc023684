package cmd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/lockdown"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// clusterHeading names a cluster above its part of the output, as tail names files.
func clusterHeading(c mesh.Cluster) string { return "==> " + c.String() + " <==" }

// printClusters prints every cluster's plan (or what was written), each under its cluster.
// -o yaml: each cluster's documents follow a comment naming it ("# cluster ID (context C)");
// -o json: {"clusters": [{"cluster", "context", "items"}]}; -o name: the cluster ID first.
func (o *LockdownOptions) printClusters(parts []*clusterLockdown) error {
	suffix := o.dryRun.Suffix()
	out := o.streams.Out
	switch o.Output {
	case "":
		for i, p := range parts {
			if i > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, clusterHeading(p.cluster))
			write := lockdown.WriteSummary
			if o.Undo {
				write = lockdown.WriteUndoSummary
			}
			if err := write(out, p.plan, suffix); err != nil {
				return err
			}
		}
		return nil
	case output.JSON:
		return output.PrintValue(out, output.JSON, clusterObjectsOf(parts))
	}
	for i, p := range parts {
		if len(p.written) == 0 {
			fmt.Fprintf(o.streams.ErrOut, "%s: namespace %s: nothing to change\n", p.cluster, p.plan.Namespace)
			continue
		}
		var b bytes.Buffer
		if err := output.PrintChanges(&b, o.Output, p.written, suffix); err != nil {
			return err
		}
		if o.Output == output.Name {
			for _, line := range strings.SplitAfter(strings.TrimSuffix(b.String(), "\n"), "\n") {
				fmt.Fprintf(out, "%s %s", p.cluster.Name(), line)
			}
			fmt.Fprintln(out)
			continue
		}
		if i > 0 {
			fmt.Fprintln(out, "---")
		}
		fmt.Fprintf(out, "# %s\n%s", p.cluster, b.String())
	}
	return nil
}

// clusterObjects are the objects written (or that a dry run would write) in one cluster.
type clusterObjects struct {
	Cluster string           `json:"cluster"`
	Context string           `json:"context"`
	Items   []map[string]any `json:"items"`
}

func clusterObjectsOf(parts []*clusterLockdown) map[string][]clusterObjects {
	all := make([]clusterObjects, len(parts))
	for i, p := range parts {
		all[i] = clusterObjects{Cluster: p.cluster.ID, Context: p.cluster.Context, Items: []map[string]any{}}
		for _, c := range p.written {
			obj := c.Object().DeepCopy()
			obj.SetManagedFields(nil) // noise here, as kubectl leaves it out
			all[i].Items = append(all[i].Items, obj.Object)
		}
	}
	return map[string][]clusterObjects{"clusters": all}
}

// clusterStatuses is --status --contexts with -o json|yaml.
type clusterStatuses struct {
	Clusters []lockdown.ClusterStatus `json:"clusters"`
	// Differences say where the clusters differ; none when they agree.
	Differences []string `json:"differences"`
	// NotRead are the clusters that did not answer or whose namespace could not be read, each
	// with why: they are not compared.
	NotRead []string `json:"notRead"`
}

// statusClusters prints each cluster's status of the namespace and where they differ. A
// cluster that does not answer, or whose namespace cannot be read, is named and left out.
func (o *LockdownOptions) statusClusters(ctx context.Context) error {
	clusters, down, err := o.connectClusters(ctx)
	if err != nil {
		return err
	}
	if len(clusters) == 0 {
		return joinClusterErrors("no cluster of --contexts answered", down)
	}
	notRead := []string{}
	for _, e := range down {
		o.warn(fmt.Sprintf("%s; going on with the other clusters", mesh.Explain(e)))
		notRead = append(notRead, mesh.Explain(e).Error())
	}
	namespace, err := o.chosenNamespace()
	if err != nil {
		return err
	}
	statuses := make([]lockdown.ClusterStatus, len(clusters))
	warnings := make([][]string, len(clusters))
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() {
			in, read, err := c.Clients.ReadLockdownInput(ctx, namespace)
			warnings[i], errs[i] = prefixed(c, read), err
			statuses[i] = lockdown.ClusterStatus{Cluster: c.ID, Context: c.Context, Status: lockdown.ComputeStatus(in)}
		})
	}
	wg.Wait()
	var read []lockdown.ClusterStatus
	for i, c := range clusters {
		o.warn(warnings[i]...)
		if errs[i] != nil {
			o.warn(fmt.Sprintf("%s: %v; going on with the other clusters", c, mesh.Explain(errs[i])))
			notRead = append(notRead, fmt.Sprintf("%s: %v", c, mesh.Explain(errs[i])))
			continue
		}
		read = append(read, statuses[i])
	}
	if len(read) == 0 {
		return fmt.Errorf("no cluster of --contexts could be read: %w", namedErrors(clusters, errs))
	}
	if o.Output != "" {
		return output.PrintValue(o.streams.Out, o.Output, clusterStatuses{Clusters: read, Differences: lockdown.StatusDifferences(read), NotRead: notRead})
	}
	err = lockdown.WriteClusterStatuses(o.streams.Out, read, func(s lockdown.ClusterStatus) string {
		return clusterHeading(mesh.Cluster{Cluster: istio.Cluster{ID: s.Cluster, Context: s.Context}})
	})
	if len(notRead) > 0 && err == nil {
		// Said beside the comparison too: "the clusters agree" is about those read.
		fmt.Fprintln(o.streams.Out, "\nnot compared (could not be read):")
		for _, why := range notRead {
			first, _, _ := strings.Cut(why, "\n")
			fmt.Fprintf(o.streams.Out, "  %s\n", first)
		}
	}
	return err
}
