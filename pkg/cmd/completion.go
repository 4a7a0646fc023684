package cmd

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/why"
)

// Shell completion from the cluster: namespaces, services, subsets and kubeconfig contexts.
// Failures (no cluster, no rights) complete nothing rather than print errors into the shell.
// Each command registers its own completions where it defines its flags.

type completionFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeFlag registers fn for flag on c. Registration fails only on a programming error (no
// such flag, or registered twice), which every build of the command tree would hit: so it
// panics, and the command-tree test catches it.
func completeFlag(c *cobra.Command, flag string, fn completionFunc) {
	if err := c.RegisterFlagCompletionFunc(flag, fn); err != nil {
		panic(fmt.Sprintf("completion for --%s of %s: %v", flag, c.Name(), err))
	}
}

type completer struct{ getter mesh.ClientGetter }

func (c completer) clients() (*mesh.Clients, string, bool) {
	ns, _, err := c.getter.Namespace()
	if err != nil {
		return nil, "", false
	}
	clients, err := c.getter.Clients()
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

// whyEnds completes why's SOURCE ("outside" or a workload) and DESTINATION (a Service) from
// the namespace's pods and Services.
func (c completer) whyEnds(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) >= 2 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	clients, ns, ok := c.clients()
	if !ok {
		return matching([]string{"outside"}, prefix), cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	if len(args) == 0 {
		names = append(names, "outside")
		if pods, err := clients.Core.Pods(ns).List(cmd.Context(), metav1.ListOptions{}); err == nil {
			for i := range pods.Items {
				names = append(names, why.WorkloadOf(&pods.Items[i]))
			}
		}
	} else if list, err := clients.Core.Services(ns).List(cmd.Context(), metav1.ListOptions{}); err == nil {
		for _, svc := range list.Items {
			names = append(names, svc.Name)
		}
	}
	return sortedMatching(slices.Compact(slices.Sorted(slices.Values(names))), prefix), cobra.ShellCompDirectiveNoFileComp
}

// subsets completes --canary with SERVICE's versions: the subsets of its DestinationRules and
// its version Services.
func (c completer) subsets(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	clients, ns, ok := c.clients()
	if !ok || len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	service := strings.Split(args[0], ".")[0]
	var names []string
	if list, err := clients.Networking.DestinationRules(ns).List(cmd.Context(), metav1.ListOptions{}); err == nil {
		for _, dr := range list.Items {
			if name, _, _ := strings.Cut(dr.Spec.Host, "."); name == service {
				for _, s := range dr.Spec.Subsets {
					names = append(names, s.Name)
				}
			}
		}
	}
	if list, err := clients.Core.Services(ns).List(cmd.Context(), metav1.ListOptions{}); err == nil {
		var selector map[string]string
		for _, svc := range list.Items {
			if svc.Name == service {
				selector = svc.Spec.Selector
			}
		}
		for _, svc := range list.Items {
			if len(selector) > 0 && svc.Name != service && svc.Spec.Selector["version"] != "" && istio.SelectorMatches(selector, svc.Spec.Selector) {
				names = append(names, svc.Name)
			}
		}
	}
	return matching(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

// policies completes what-if's --delete with the namespace's AuthorizationPolicies and
// PeerAuthentications, as KIND/NAME.
func (c completer) policies(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	clients, ns, ok := c.clients()
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	if list, err := clients.Security.AuthorizationPolicies(ns).List(cmd.Context(), metav1.ListOptions{}); err == nil {
		for _, ap := range list.Items {
			names = append(names, "authorizationpolicy/"+ap.Name)
		}
	}
	if list, err := clients.Security.PeerAuthentications(ns).List(cmd.Context(), metav1.ListOptions{}); err == nil {
		for _, pa := range list.Items {
			names = append(names, "peerauthentication/"+pa.Name)
		}
	}
	return sortedMatching(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

// contexts completes --context from the kubeconfig.
func contexts(flags *mesh.ConfigFlags) completionFunc {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		config, err := flags.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for name := range config.Contexts {
			names = append(names, name)
		}
		return sortedMatching(names, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

func fixedValues(values ...string) completionFunc {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return matching(values, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}
