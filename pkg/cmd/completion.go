package cmd

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
)

// Shell completion from the cluster: namespaces, services, subsets and kubeconfig contexts.
// Failures (no cluster, no rights) complete nothing rather than print errors into the shell.

type completer struct{ flags *mesh.ConfigFlags }

func (c completer) clients() (*mesh.Clients, string, bool) {
	ns, _, err := c.flags.Namespace()
	if err != nil {
		return nil, "", false
	}
	clients, err := c.flags.Clients()
	if err != nil {
		return nil, "", false
	}
	return clients, ns, true
}

// matching keeps the names that start with prefix, in their order.
func matching(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// sortedMatching is matching for names from the cluster, which come in no useful order.
func sortedMatching(names []string, prefix string) []string {
	sort.Strings(names)
	return matching(names, prefix)
}

func (c completer) namespaces(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	clients, _, ok := c.clients()
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, err := clients.Core.Namespaces().List(cmd.Context(), metav1.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, len(list.Items))
	for i, ns := range list.Items {
		names[i] = ns.Name
	}
	return sortedMatching(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

// firstArgNamespace completes NAMESPACE, the first argument only.
func (c completer) firstArgNamespace(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return c.namespaces(cmd, args, prefix)
}

// services completes SERVICE; PERCENT gets a few common steps.
func (c completer) services(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
	case 1:
		return matching([]string{"0", "10", "25", "50", "75", "100"}, prefix), cobra.ShellCompDirectiveNoFileComp
	default:
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	clients, ns, ok := c.clients()
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, err := clients.Core.Services(ns).List(cmd.Context(), metav1.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, len(list.Items))
	for i, svc := range list.Items {
		names[i] = svc.Name
	}
	return sortedMatching(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

// subsets completes --canary with the subsets of the DestinationRules for SERVICE.
func (c completer) subsets(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	clients, ns, ok := c.clients()
	if !ok || len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, err := clients.Networking.DestinationRules(ns).List(cmd.Context(), metav1.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, dr := range list.Items {
		if name, _, _ := strings.Cut(dr.Spec.Host, "."); name == strings.Split(args[0], ".")[0] {
			for _, s := range dr.Spec.Subsets {
				names = append(names, s.Name)
			}
		}
	}
	return matching(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

func (c completer) contexts(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	config, err := c.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for name := range config.Contexts {
		names = append(names, name)
	}
	return sortedMatching(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

func fixedValues(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return matching(values, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

// registerCompletions wires completion into the command tree.
func registerCompletions(root *cobra.Command, flags *mesh.ConfigFlags) {
	c := completer{flags: flags}
	_ = root.RegisterFlagCompletionFunc("namespace", c.namespaces)
	_ = root.RegisterFlagCompletionFunc("context", c.contexts)
	for _, sub := range root.Commands() {
		switch sub.Name() {
		case "canary":
			sub.ValidArgsFunction = c.services
			_ = sub.RegisterFlagCompletionFunc("canary", c.subsets)
		case "lockdown":
			sub.ValidArgsFunction = c.firstArgNamespace
		case "graph":
			sub.ValidArgsFunction = cobra.NoFileCompletions
		}
		if sub.Flags().Lookup("dry-run") != nil {
			_ = sub.RegisterFlagCompletionFunc("dry-run", fixedValues("none", "client", "server"))
		}
		if sub.Flags().Lookup("output") != nil {
			_ = sub.RegisterFlagCompletionFunc("output", fixedValues("yaml", "json", "name"))
		}
	}
}
