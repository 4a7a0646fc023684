package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/whatif"
)

// WhatIfOptions replay observed traffic against a policy change before it is made.
type WhatIfOptions struct {
	clusterOptions

	Files   []string
	Deletes []string
	Output  string
	FailOn  string
	Window  string
}

const whatIfLong = `Say what a change to AuthorizationPolicies and PeerAuthentications would do to the traffic
the mesh really carries, before making it. Every edge Prometheus saw in --window (requests and
TCP connections, from the reports of the proxy that enforces policy for it: the destination's
sidecar or ztunnel, or the waypoint that carries its Service), those refused today included,
is decided twice by the evaluator lockdown uses: with the policies as they are, and as the
change would leave them. Listed are the edges whose verdict changes: newly denied (traffic
that would break), newly allowed (access that would open), with the policy and rule that
decide after the change and where (sidecar, ztunnel, waypoint, gateway). Plaintext callers a
STRICT PeerAuthentication would cut off are among them, named by their destination.

The change: objects in -f create those of the same kind, namespace and name or replace them,
as kubectl apply would; --delete KIND/NAME removes one, in -n's namespace. Edges into the
namespaces the change touches are replayed (every namespace, for a change to the root
namespace's mesh-wide policy). Telemetry does not record methods, paths, headers or tokens:
an edge that a rule decides only for some of them is "partial".

Several clusters (--contexts c1,c2): the change is made in every cluster, as a multi-cluster
user makes it, and each edge is replayed against the policies of the cluster its destination
ran in (Istio's destination_cluster), where multi-primary Istio decides it. Edges are listed
with their cluster (and the caller's, when it is another); a cluster that does not answer is
named and the others are replayed. Telemetry comes from one Prometheus for the whole mesh, or
each cluster's own (--prometheus-url CLUSTER=URL, else found in the cluster).

It writes nothing. Exits 1 when --fail-on is met (for CI on a GitOps repository).`

const whatIfExample = `  # What would tighter policies break?
  kubectl mesh what-if -f tighter-policies.yaml -n bookinfo

  # Whom would deleting a policy let in?
  kubectl mesh what-if --delete authorizationpolicy/allow-legacy -n bookinfo

  # In CI: fail when observed traffic would be denied
  kubectl mesh what-if -f policies/ -n bookinfo --fail-on denied

  # The same change in every cluster of a multi-primary mesh
  kubectl mesh what-if -f tighter-policies.yaml -n bookinfo --contexts east,west

  # Lockdown's own plan, replayed
  kubectl mesh lockdown bookinfo --what-if`

var (
	whatIfFormats = []string{"table", output.JSON, output.YAML}
	whatIfFailOn  = []string{"none", "denied", "allowed", "any"}
)

// NewCmdWhatIf returns kubectl mesh what-if.
func NewCmdWhatIf(getter mesh.ClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &WhatIfOptions{clusterOptions: clusterOptions{getter: getter, streams: streams}}
	c := &cobra.Command{
		Use:     "what-if (-f FILE | --delete KIND/NAME)...",
		Short:   "Replay observed traffic against a policy change: what it would deny, what it would let in",
		Long:    whatIfLong,
		Example: whatIfExample,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&o.Files, "filename", "f", nil, "AuthorizationPolicies and PeerAuthentications to replay as applied: a file, a directory of .yaml, .yml and .json files, or - for stdin. Repeatable.")
	f.StringArrayVar(&o.Deletes, "delete", nil, "An object to replay as deleted: authorizationpolicy/NAME or peerauthentication/NAME, in -n's namespace. Repeatable.")
	f.StringVarP(&o.Output, "output", "o", "table", "One of: table, json, yaml.")
	addWhatIfFailOn(c, &o.FailOn)
	f.StringVar(&o.Window, "window", "24h", "How far back observed traffic is replayed (a Prometheus duration).")
	o.prom.addFlags(c, "Prometheus to read observed traffic from.")
	o.addTelemetryNamespaceFlags(c, false)
	o.addContextsFlag(c, "the change is made in every cluster, and each observed edge replayed against the policies of the cluster its destination ran in.")
	if err := c.MarkFlagFilename("filename", "yaml", "yml", "json"); err != nil {
		panic(err) // only a flag that does not exist fails: the command-tree test catches it
	}
	completeFlag(c, "output", fixedValues(whatIfFormats...))
	completeFlag(c, "delete", completer{getter}.policies)
	return c
}

func addWhatIfFailOn(c *cobra.Command, value *string) {
	c.Flags().StringVar(value, "fail-on", "none", "Exit 1 when an observed edge would be newly denied (denied), newly allowed (allowed), either (any), or never (none).")
	completeFlag(c, "fail-on", fixedValues(whatIfFailOn...))
}

// Validate checks the flags without the cluster.
func (o *WhatIfOptions) Validate() error {
	if err := o.prom.validate(); err != nil {
		return err
	}
	if len(o.Files) == 0 && len(o.Deletes) == 0 {
		return fmt.Errorf("nothing to replay: give the change with -f FILE (objects applied) or --delete KIND/NAME")
	}
	if err := o.validateContexts(); err != nil {
		return err
	}
	return validateWhatIfFlags(o.Output, o.FailOn, o.Window)
}

func validateWhatIfFlags(format, failOn, window string) error {
	if !contains(whatIfFormats, format) {
		return fmt.Errorf("unknown output format %q for -o: use one of %s", format, strings.Join(whatIfFormats, ", "))
	}
	if !contains(whatIfFailOn, failOn) {
		return fmt.Errorf("--fail-on %q: use one of %s", failOn, strings.Join(whatIfFailOn, ", "))
	}
	if d, err := model.ParseDuration(window); err != nil || d <= 0 {
		return fmt.Errorf("--window %q is not a duration: use a Prometheus duration such as 1h or 24h", window)
	}
	return nil
}

// scopeOf is the namespaces replayed: those the change touches, and -n's when given.
func (o *WhatIfOptions) scopeOf(edit whatif.Edit) []string {
	scope := edit.Namespaces()
	if o.namespaceExplicit && !slices.Contains(scope, o.namespace) {
		scope = append(scope, o.namespace)
	}
	return scope
}

// Run reads the change, the cluster and the traffic, replays it, and prints what changes.
func (o *WhatIfOptions) Run(ctx context.Context) error {
	if o.multiCluster() {
		return o.runClusters(ctx)
	}
	if err := o.completeCluster(); err != nil {
		return err
	}
	edit, err := o.readEdit()
	if err != nil {
		return err
	}
	scope := o.scopeOf(edit)
	// A change to the root namespace's policies applies everywhere: every namespace is read.
	// Istio's default root namespace is assumed until the mesh config, read with the rest,
	// says otherwise (then the reads are made again, with the right scope).
	root := istio.DefaultRootNamespace
	cluster, policies, observed, err := o.read(ctx, scope, root)
	if err == nil && cluster.Mesh.RootNamespace != root && slices.Contains(scope, cluster.Mesh.RootNamespace) {
		cluster, policies, observed, err = o.read(ctx, scope, cluster.Mesh.RootNamespace)
	}
	if err != nil {
		return err
	}
	all := slices.Contains(scope, cluster.Mesh.RootNamespace)
	if all {
		scope = namespacesOf(cluster)
	}
	after, steps, err := policies.With(edit, time.Now())
	if err != nil {
		return err
	}
	result := whatif.Replay(cluster, policies, after, observed)
	return o.report(whatif.NewReport(o.Window, scope, all, steps, result), result.Unresolved)
}

// read reads the cluster and the edges into scope, every namespace when scope holds root, at
// once.
func (o *WhatIfOptions) read(ctx context.Context, scope []string, root string) (whatif.Cluster, whatif.Policies, []whatif.Observation, error) {
	if slices.Contains(scope, root) {
		scope = nil
	}
	var (
		cluster          whatif.Cluster
		policies         whatif.Policies
		warnings         []string
		observed         []whatif.Observation
		readErr, promErr error
		wg               sync.WaitGroup
	)
	wg.Go(func() { cluster, policies, warnings, readErr = o.clients.ReadWhatIfInput(ctx, scope) })
	wg.Go(func() { observed, promErr = o.observedEdgesFrom(ctx, "", o.Window, scope) })
	wg.Wait()
	o.warn(warnings...)
	if readErr != nil {
		return cluster, policies, nil, readErr
	}
	return cluster, policies, observed, promErr
}

// observedEdgesFrom reads the edges into namespaces (nil: all) from Prometheus: without it
// there is nothing to replay.
func (o *clusterOptions) observedEdgesFrom(ctx context.Context, prometheusURL, window string, namespaces []string) ([]whatif.Observation, error) {
	prom, err := o.locator(prometheusURL).Locate(ctx)
	if err == nil {
		var edges []whatif.Observation
		if edges, err = prom.ObservedEdges(ctx, namespaces, window, time.Now()); err == nil {
			// One cluster's policies decide every edge: the cluster labels are not read.
			return whatif.WithoutClusters(edges), nil
		}
	}
	return nil, fmt.Errorf("what-if replays the traffic Prometheus saw, and could not read it: %w", err)
}

func namespacesOf(c whatif.Cluster) []string {
	names := make([]string, 0, len(c.NamespaceLabels))
	for name := range c.NamespaceLabels {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// readEdit reads -f and --delete into one edit; an object both applied and deleted is refused.
func (o *WhatIfOptions) readEdit() (whatif.Edit, error) {
	var edit whatif.Edit
	for _, name := range o.Files {
		objects, err := o.readObjects(name)
		if err != nil {
			return edit, err
		}
		edit.Apply = append(edit.Apply, objects...)
	}
	for _, arg := range o.Deletes {
		ref, err := whatif.ParseDelete(arg, o.namespace)
		if err != nil {
			return edit, err
		}
		for _, obj := range edit.Apply {
			if obj.GetKind() == ref.Kind && obj.GetNamespace() == ref.Namespace && obj.GetName() == ref.Name {
				return edit, fmt.Errorf("--delete %s and -f both name %s: give one", arg, ref)
			}
		}
		edit.Delete = append(edit.Delete, ref)
	}
	return edit, nil
}

// readObjects reads -f NAME: a file, the manifests of a directory (not its subdirectories), or
// stdin.
func (o *WhatIfOptions) readObjects(name string) ([]*unstructured.Unstructured, error) {
	if name == "-" {
		data, err := io.ReadAll(o.streams.In)
		if err != nil {
			return nil, fmt.Errorf("-f -: cannot read stdin: %v", err)
		}
		return whatif.Decode("stdin", data, o.namespace, o.namespaceExplicit)
	}
	info, err := os.Stat(name)
	if err != nil {
		return nil, fileError(name, err)
	}
	files := []string{name}
	if info.IsDir() {
		entries, err := os.ReadDir(name)
		if err != nil {
			return nil, fileError(name, err)
		}
		files = nil
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, filepath.Join(name, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("-f %s: a directory without .yaml, .yml or .json files", name)
		}
	}
	var out []*unstructured.Unstructured
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fileError(file, err)
		}
		objects, err := whatif.Decode(file, data, o.namespace, o.namespaceExplicit)
		if err != nil {
			return nil, err
		}
		out = append(out, objects...)
	}
	return out, nil
}

// fileError says what is wrong with a file in the system's words, not Go's.
func fileError(name string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return fmt.Errorf("-f %s: %v", name, err)
}

// failOn is the error --fail-on asks for, if the report meets it.
func failOn(value string, r whatif.Report) error {
	breaks := (value == "denied" || value == "any") && r.Breaks()
	opens := (value == "allowed" || value == "any") && r.Opens()
	if breaks || opens {
		return fmt.Errorf("%s (--fail-on %s)", r.Summary, value)
	}
	return nil
}

// printWhatIf prints the report in format, and says on stderr which edges could not be
// replayed.
func (o *clusterOptions) printWhatIf(format string, r whatif.Report, unresolved []string) error {
	if len(unresolved) > 0 {
		o.warn(fmt.Sprintf("%d observed %s not replayed, their destination no longer running: %s", len(unresolved),
			map[bool]string{true: "edge", false: "edges"}[len(unresolved) == 1], output.Abbreviate(unresolved, 3)))
	}
	if r.Replayed == 0 {
		// An empty list would read as "the change breaks nothing".
		o.warn(fmt.Sprintf("Prometheus saw no traffic into %s over %s: nothing was replayed, so nothing is known to break or open", r.Scope, r.Window))
	}
	if format == "table" {
		return whatif.WriteTable(o.streams.Out, r)
	}
	return output.PrintValue(o.streams.Out, format, r)
}

func (o *WhatIfOptions) report(r whatif.Report, unresolved []string) error {
	if err := o.printWhatIf(o.Output, r, unresolved); err != nil {
		return err
	}
	return failOn(o.FailOn, r)
}
