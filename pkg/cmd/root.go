// Package cmd holds one cobra command per operation. Each command is an Options struct with
// Complete (read flags, args and kubeconfig), Validate (pure checks, no cluster) and Run.
package cmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// displayName is how users call us: kubectl finds the plugin binary `kubectl-mesh` for
// `kubectl mesh ...`, so help and errors say "kubectl mesh", never the binary's name.
const displayName = "kubectl mesh"

var negativeNumber = regexp.MustCompile(`^unknown shorthand flag: '[0-9]' in -([0-9]+)$`)

// NewCmdMesh is the umbrella command: `kubectl mesh canary|lockdown|graph|traces|doctor|why|what-if|version|completion`.
func NewCmdMesh(streams genericiooptions.IOStreams) *cobra.Command {
	flags := mesh.NewConfigFlags()
	return newCmdMesh(streams, flags, flags)
}

// newCmdMesh builds the command tree with its connection flags on flags, and the cluster the
// commands reach through getter (flags itself, but for tests).
func newCmdMesh(streams genericiooptions.IOStreams, flags *mesh.ConfigFlags, getter mesh.ClientGetter) *cobra.Command {
	root := &cobra.Command{
		Use:   "mesh",
		Short: "Run an Istio service mesh safely from the terminal",
		Long: `kubectl mesh does the day-two Istio operations safely, in one command each:

  canary    shift a share of a service's traffic to a canary subset, promote or roll back
  lockdown  STRICT mTLS and default-deny authorization for a namespace, reversible
  graph     the service graph: rps, errors, p50/p99 latency and mTLS per edge
  traces    the slowest traces and their critical path; which hop loses trace context
  doctor    the tutorial's antipatterns and install problems, found in the cluster
  why       which route, mTLS setting and policy rule decide a request, and the verdict
  what-if   what a policy change would deny or let in, replayed on the traffic seen

Every command that writes can show what it would do first (--dry-run, -o yaml).`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: displayName},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// cobra reads a negative number as shorthand flags: say what is really wrong.
		if m := negativeNumber.FindStringSubmatch(err.Error()); m != nil && strings.TrimPrefix(c.Name(), "mesh-") == "canary" {
			return fmt.Errorf("PERCENT -%s is out of range: give a whole number from 0 to 100", m[1])
		}
		return fmt.Errorf("%w\nSee '%s --help' for usage.", flagError(err), c.CommandPath())
	})
	// The connection flags are checked before any command runs, whether or not it then
	// needs the cluster.
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return flags.Validate() }
	root.AddCommand(
		NewCmdCanary(getter, streams),
		NewCmdLockdown(getter, streams),
		NewCmdGraph(getter, streams),
		NewCmdTraces(getter, streams),
		NewCmdDoctor(getter, streams),
		NewCmdWhy(getter, streams),
		NewCmdWhatIf(getter, streams),
		NewCmdVersion(streams),
	)
	completeFlag(root, "namespace", completer{getter}.namespaces)
	completeFlag(root, "context", contexts(flags))
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	return root
}

// executeWithSignals runs root with a context that Ctrl-C and SIGTERM cancel: --watch then ends
// cleanly, and a write in flight is abandoned before it is sent, not half-way.
func executeWithSignals(root *cobra.Command, streams genericiooptions.IOStreams) int {
	silenceClientLogs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, root, streams)
}

// execute runs root and reports its error the way kubectl does, returning the exit code.
func execute(ctx context.Context, root *cobra.Command, streams genericiooptions.IOStreams) int {
	c, err := root.ExecuteContextC(ctx)
	return report(withFlagValueHint(c, err), streams.ErrOut)
}

// ExecutePlugin runs one operation as its own plugin binary (kubectl-mesh_canary is reached
// as `kubectl mesh-canary ...`). It runs the same command tree with the operation's name put
// in front of the arguments, so flags and help are those of `kubectl mesh NAME`; usage lines
// and hints name it as called, `kubectl mesh-NAME`.
func ExecutePlugin(name string, streams genericiooptions.IOStreams, args []string) int {
	root := NewCmdMesh(streams)
	root.SetArgs(pluginArgs(asPlugin(root, name), args))
	return executeWithSignals(root, streams)
}

// asPlugin names the operation as the plugin binary is called, `kubectl mesh-graph`, in its
// usage line and in hints ("See 'kubectl mesh-graph --help'"), since its user typed no
// `kubectl mesh graph`; it returns the name the command now answers to.
func asPlugin(root *cobra.Command, name string) string {
	for _, sub := range root.Commands() {
		if sub.Name() == name {
			root.Annotations[cobra.CommandDisplayNameAnnotation] = "kubectl"
			sub.Use = "mesh-" + sub.Use
			return sub.Name()
		}
	}
	return name
}

// ExecuteAs runs the command tree as the binary named binary would: the release archives ship
// one executable under every plugin name (kubectl-mesh, kubectl-mesh_canary, ...,
// kubectl_complete-mesh), and it behaves as the name it was started by.
func ExecuteAs(binary string, streams genericiooptions.IOStreams, args []string) int {
	root := NewCmdMesh(streams)
	if op, ok := strings.CutPrefix(strings.TrimSuffix(filepath.Base(binary), ".exe"), "kubectl-mesh_"); ok {
		// kubectl turns the dashes of a plugin's name into underscores: what-if is mesh_what_if.
		root.SetArgs(pluginArgs(asPlugin(root, strings.ReplaceAll(op, "_", "-")), args))
	} else {
		root.SetArgs(argsForBinary(binary, args))
	}
	return executeWithSignals(root, streams)
}

// argsForBinary maps a binary's name and arguments to the umbrella command's arguments.
// kubectl runs kubectl_complete-PLUGIN with the words to complete when the shell asks.
func argsForBinary(binary string, args []string) []string {
	name := strings.TrimSuffix(filepath.Base(binary), ".exe")
	if rest, ok := strings.CutPrefix(name, "kubectl_complete-"); ok {
		args = append([]string{cobra.ShellCompRequestCmd}, args...)
		name = "kubectl-" + rest
	}
	if op, ok := strings.CutPrefix(name, "kubectl-mesh_"); ok {
		// kubectl turns the dashes of a plugin's name into underscores: what-if is mesh_what_if.
		return pluginArgs(strings.ReplaceAll(op, "_", "-"), args)
	}
	return args
}

// pluginArgs puts the operation name first, after cobra's hidden completion request command
// when the shell asks for completions.
func pluginArgs(name string, args []string) []string {
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		return append([]string{args[0], name}, args[1:]...)
	}
	return append([]string{name}, args...)
}

// silenceClientLogs keeps client-go's own log lines ("Unexpected error when reading response
// body" when a parallel read is cancelled) off the user's terminal: every error that matters
// reaches the user through the command's own message.
func silenceClientLogs() {
	flags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(flags)
	_ = flags.Set("logtostderr", "false")
	_ = flags.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

// report prints err the way kubectl does ("error: ...") and maps it to an exit code.
func report(err error, errOut io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(errOut, "error: %v\n", mesh.Explain(err))
	return 1
}
