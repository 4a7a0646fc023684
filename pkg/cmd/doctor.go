package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/doctor"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// DoctorOptions look for the Istio tutorial's antipatterns and install problems.
type DoctorOptions struct {
	clusterOptions

	AllNamespaces bool
	Output        string
	FailOn        string
}

const doctorLong = `Look for what the Istio tutorial warns about, in the cluster as it is, and say how to fix it:

  install            verify-install's questions: Istio's CRDs served, istiod present and ready,
                     the sidecar injector's webhook present
  proxy-version      proxies a minor version or more away from istiod
  ops-planning       istiod or an ingress gateway with one replica or no PodDisruptionBudget
  revision           no istio.io/rev revision in use: upgrades cannot be canaried
  stateful-sidecar   StatefulSets whose sidecar may start after the app or go before it
  sidecar-resources  sidecars on Istio's default requests with no limits, and what they reserve
  sidecar-scope      namespaces without a Sidecar resource: every proxy holds the whole mesh
  injection          pods without a sidecar in a namespace labelled for injection, or opted out
  mtls               namespaces still PERMISSIVE while others are STRICT, mTLS DISABLE, and
                     DestinationRules that send plaintext

With --contexts c1,c2 (the clusters of one mesh), each cluster is checked as above, in
parallel, and the clusters are compared; each finding names its clusters (CLUSTER column):

  cluster            a cluster that did not answer (the others are still checked), or two
                     clusters on one cluster ID
  drift-version      istiod versions (image tags) or revisions that differ
  drift-mesh-config  trust domain, mesh ID or root namespace that differ
  drift-network      networks (topology.istio.io/network) that differ
  east-west-gateway  a cluster on a network of its own without an east-west gateway
  drift-lockdown     a namespace locked down (STRICT mTLS, default deny) in some clusters only
  drift-route        VirtualServices, DestinationRules, HTTPRoutes that differ between
                     primaries, or that some lack (each primary's istiod reads its own)
  drift-waypoint     a waypoint in some of its namespace's clusters only

Namespaces are compared where several clusters hold them (namespace sameness); what the
clusters must agree on is reported whatever the scope.

Findings are about objects in the namespace (-n, or the kubeconfig's), or everywhere with -A;
install problems, which break every namespace, are reported whatever the scope. It only reads.
Exits 1 when a finding reaches --fail-on (error by default).`

const doctorExample = `  # The namespace of the current context
  kubectl mesh doctor

  # The whole cluster, failing a CI job on warnings too
  kubectl mesh doctor -A --fail-on warning

  # For scripts
  kubectl mesh doctor -n shop -o json

  # Why each finding matters and how to fix it, in full
  kubectl mesh doctor -o wide

  # Two clusters of one mesh: each checked, and what differs between them
  kubectl mesh doctor -n shop --contexts east,west`

// doctorFormats are doctor's -o values.
var doctorFormats = []string{"table", "wide", output.JSON, output.YAML}

// NewCmdDoctor returns kubectl mesh doctor.
func NewCmdDoctor(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DoctorOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	c := &cobra.Command{
		Use:     "doctor",
		Short:   "Find the tutorial's antipatterns and install problems: sidecars on stateful workloads, untuned defaults, no ops planning",
		Long:    doctorLong,
		Example: doctorExample,
		Args:    namespaceNoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Look at every namespace.")
	f.StringVarP(&o.Output, "output", "o", "table", "One of: table, wide (why and fix in full), json, yaml.")
	f.StringVar(&o.FailOn, "fail-on", string(doctor.Error), "Exit 1 when a finding is at least this serious: error, warning or info.")
	o.addContextsFlag(c, "check each, and what differs between them.")
	c.ValidArgsFunction = cobra.NoFileCompletions
	completeFlag(c, "output", fixedValues(doctorFormats...))
	completeFlag(c, "fail-on", fixedValues(string(doctor.Error), string(doctor.Warning), string(doctor.Info)))
	return c
}

// Validate checks the flags without the cluster.
func (o *DoctorOptions) Validate() error {
	if !contains(doctorFormats, o.Output) {
		return fmt.Errorf("unknown output format %q for -o: use one of %s", o.Output, strings.Join(doctorFormats, ", "))
	}
	if doctor.Severity(o.FailOn).Rank() < 0 {
		return fmt.Errorf("--fail-on %q: use error, warning or info", o.FailOn)
	}
	return o.validateContexts()
}

// Run reads the cluster, checks it and prints the findings.
func (o *DoctorOptions) Run(ctx context.Context) error {
	if o.multiCluster() {
		return o.runClusters(ctx)
	}
	if err := o.completeCluster(); err != nil {
		return err
	}
	scope := o.namespace
	if o.AllNamespaces {
		scope = ""
	}
	in, warnings, err := o.clients.ReadDoctorInput(ctx, scope)
	o.warn(warnings...)
	if err != nil {
		return err
	}
	return o.print(doctor.NewReport(scope, doctor.Check(in)))
}

// print writes the report as -o asks, and fails when a finding reaches --fail-on.
func (o *DoctorOptions) print(report doctor.Report) error {
	var err error
	switch o.Output {
	case output.JSON, output.YAML:
		err = output.PrintValue(o.streams.Out, o.Output, report)
	default:
		err = doctor.WriteTable(o.streams.Out, report, o.Output == "wide")
	}
	if err != nil {
		return err
	}
	if threshold := doctor.Severity(o.FailOn); report.Fails(threshold) {
		return fmt.Errorf("findings at or above --fail-on %s", threshold)
	}
	return nil
}
