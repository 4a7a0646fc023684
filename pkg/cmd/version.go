package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/version"
)

// NewCmdVersion prints the build's version, commit and Go version.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl mesh",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			info := version.Get()
			switch format {
			case "":
				_, err := fmt.Fprintln(streams.Out, info)
				return err
			case output.JSON, output.YAML:
				return output.PrintValue(streams.Out, format, info)
			}
			return fmt.Errorf("unknown output format %q for -o: use json or yaml", format)
		},
	}
	c.Flags().StringVarP(&format, "output", "o", "", "Output format: json or yaml.")
	completeFlag(c, "output", fixedValues(output.JSON, output.YAML))
	return c
}
