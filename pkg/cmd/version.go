package cmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

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
			case "json":
				out, err := json.MarshalIndent(info, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(streams.Out, string(out))
				return err
			case "yaml":
				out, err := yaml.Marshal(info)
				if err != nil {
					return err
				}
				_, err = streams.Out.Write(out)
				return err
			}
			return fmt.Errorf("unknown output format %q for -o: use json or yaml", format)
		},
	}
	c.Flags().StringVarP(&format, "output", "o", "", "Output format: json or yaml.")
	return c
}
