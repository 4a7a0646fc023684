package lockdown

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Caller is a source an ALLOW policy admits: one service account (a principal, which needs
// mTLS) or every workload of a namespace.
type Caller struct {
	Namespace      string
	ServiceAccount string // empty: the whole namespace
	// Why it is allowed, for people: "--allow-from", "ingress gateway istio-system/bookinfo-gateway".
	Reason string
}

// Principal is the caller's SPIFFE identity as AuthorizationPolicies write it, without spiffe://.
func (c Caller) Principal(mesh istio.MeshConfig) string {
	return mesh.Principal(c.Namespace, c.ServiceAccount)
}

func (c Caller) String() string {
	if c.ServiceAccount == "" {
		return "namespace " + c.Namespace
	}
	return c.Namespace + "/" + c.ServiceAccount
}

// ParseAllowFrom reads --allow-from: "ns/NAMESPACE" for a namespace, "NAMESPACE/SERVICEACCOUNT"
// for one service account.
func ParseAllowFrom(arg string) (Caller, error) {
	first, second, ok := strings.Cut(arg, "/")
	if !ok || strings.Contains(second, "/") || first == "" || second == "" {
		return Caller{}, fmt.Errorf("--allow-from %q: write ns/NAMESPACE for a namespace or NAMESPACE/SERVICEACCOUNT for one service account", arg)
	}
	c := Caller{Namespace: first, ServiceAccount: second, Reason: "--allow-from"}
	if first == "ns" {
		c = Caller{Namespace: second, Reason: "--allow-from"}
	}
	for _, name := range []string{c.Namespace, c.ServiceAccount} {
		if name == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return Caller{}, fmt.Errorf("--allow-from %q: %q is not a valid name: %s", arg, name, strings.Join(errs, "; "))
		}
	}
	return c, nil
}

// appendCallers adds callers not yet in list (same namespace and service account).
func appendCallers(list []Caller, callers ...Caller) []Caller {
	for _, c := range callers {
		dup := false
		for _, have := range list {
			dup = dup || (have.Namespace == c.Namespace && have.ServiceAccount == c.ServiceAccount)
		}
		if !dup {
			list = append(list, c)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].String() < list[j].String() })
	return list
}
