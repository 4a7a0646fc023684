package cmd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// namespaceNoArgs refuses arguments to a command that works on a namespace (-n) or every
// namespace (-A): cobra's "unknown command" for `graph reviews` says nothing of what to do.
func namespaceNoArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return fmt.Errorf("%s takes no arguments, got %q: to pick a namespace, write -n %s (or -A for every namespace)", c.CommandPath(), args[0], args[0])
}

// withFlagValueHint adds to a command's error the likely cause when --dry-run was given bare
// and the error is about a stray argument that is one of its values: `--dry-run server` leaves
// "server" as an argument, where --dry-run=server was meant.
func withFlagValueHint(c *cobra.Command, err error) error {
	if err == nil || c == nil {
		return err
	}
	args := c.Flags().Args()
	dryRun := c.Flags().Lookup("dry-run")
	if len(args) == 0 || dryRun == nil || !dryRun.Changed || dryRun.Value.String() != dryRun.NoOptDefVal {
		return err
	}
	stray := args[len(args)-1]
	if !slices.Contains([]string{string(mesh.DryRunNone), string(mesh.DryRunClient), string(mesh.DryRunServer)}, stray) ||
		!strings.Contains(err.Error(), strconv.Quote(stray)) {
		return err
	}
	return fmt.Errorf("%w\n(--dry-run takes its value after '=': did you mean --dry-run=%s?)", err, stray)
}
