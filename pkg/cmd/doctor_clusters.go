package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/doctor"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// clusterRead is what doctor read of one cluster of --contexts.
type clusterRead struct {
	cluster  mesh.Cluster
	input    doctor.ClusterInput
	warnings []string
	err      error
}

// runClusters is doctor --contexts: every cluster read in parallel and checked alone, then
// the clusters compared. A cluster that does not answer is a finding; the others are still
// checked. Only reads.
func (o *DoctorOptions) runClusters(ctx context.Context) error {
	ns, explicit, err := o.getter.Namespace()
	if err != nil {
		return err
	}
	o.namespace, o.namespaceExplicit = ns, explicit
	scope := o.namespace
	if o.AllNamespaces {
		scope = ""
	}
	reads := o.readClusters(ctx, scope)
	var (
		findings []doctor.Finding
		inputs   []doctor.ClusterInput
		checked  []doctor.Cluster
		missing  []string // clusters without the namespace of the scope
	)
	for _, r := range reads {
		ref := r.cluster.Cluster
		checked = append(checked, ref)
		var notFound *mesh.NamespaceNotFoundError
		switch {
		case errors.As(r.err, &notFound):
			missing = append(missing, ref.String())
		case r.err != nil:
			findings = append(findings, doctor.Unreachable(ref, reason(r.cluster, r.err)))
			continue
		}
		inputs = append(inputs, r.input)
	}
	if scope != "" && len(missing) > 0 && len(missing) == len(inputs) {
		return &mesh.NamespaceNotFoundError{Namespace: scope}
	}
	if len(missing) > 0 {
		o.warn(fmt.Sprintf("namespace %s is not in %s: only the control plane was checked there", scope, strings.Join(missing, ", ")))
	}
	findings = append(findings, doctor.CheckClusters(inputs)...)
	doctor.SortFindings(findings)
	report := doctor.NewReport(scope, findings)
	report.Clusters = checked
	return o.print(report)
}

// readClusters connects to every cluster of --contexts and reads each, all in parallel; the
// reads keep the contexts' order.
func (o *DoctorOptions) readClusters(ctx context.Context, scope string) []clusterRead {
	clusters := mesh.ConnectClusters(ctx, o.getter, o.contexts)
	reads := make([]clusterRead, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		reads[i] = clusterRead{cluster: c, err: c.Err}
		if c.Err != nil {
			continue
		}
		wg.Go(func() {
			r := &reads[i]
			var in doctor.Input
			var drift doctor.DriftInput
			in, drift, r.warnings, r.err = c.Clients.ReadClusterDoctorInput(ctx, scope)
			r.input = doctor.ClusterInput{Cluster: c.Cluster, Input: in, Drift: drift}
		})
	}
	wg.Wait()
	for _, r := range reads {
		if r.cluster.Err == nil && r.cluster.Note != "" {
			o.warn(fmt.Sprintf("%s: %s", r.cluster, r.cluster.Note))
		}
		for _, w := range r.warnings {
			o.warn(fmt.Sprintf("%s: %s", r.cluster, w))
		}
	}
	return reads
}

// reason says why a cluster could not be read, in one line, without repeating its name.
func reason(c mesh.Cluster, err error) string {
	msg := mesh.Explain(err).Error()
	for _, prefix := range []string{c.String() + ": ", "context " + c.Context + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return strings.ReplaceAll(msg, "\n", " ")
}
