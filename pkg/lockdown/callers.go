package lockdown

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Caller is a source an ALLOW policy admits: one service account (a principal, which needs
// mTLS) or every workload of a namespace.
type Caller struct {
	// TrustDomain is the caller's when it is not the mesh's (a caller of another trust
	// domain seen in telemetry): its principal keeps it.
	TrustDomain    string
	Namespace      string
	ServiceAccount string // empty: the whole namespace
	// Why it is allowed, for people: "--allow-from", "ingress gateway istio-system/bookinfo-gateway".
	Reason string
}

// Principal is the caller's SPIFFE identity as AuthorizationPolicies write it, without spiffe://.
func (c Caller) Principal(mesh istio.MeshConfig) string {
	return c.trustDomain(mesh) + "/ns/" + c.Namespace + "/sa/" + c.ServiceAccount
}

func (c Caller) trustDomain(mesh istio.MeshConfig) string {
	if c.TrustDomain != "" {
		return c.TrustDomain
	}
	return mesh.TrustDomain
}

func (c Caller) String() string {
	switch {
	case c.ServiceAccount == "":
		return "namespace " + c.Namespace
	case c.TrustDomain != "":
		return c.TrustDomain + "/ns/" + c.Namespace + "/sa/" + c.ServiceAccount
	}
	return c.Namespace + "/" + c.ServiceAccount
}

// validTrustDomain: what a SPIFFE trust domain may hold (letters, digits, dots, dashes,
// underscores); never a wildcard or a path.
var validTrustDomain = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// ParsePrincipal reads TRUSTDOMAIN/ns/NAMESPACE/sa/SERVICEACCOUNT (spiffe:// stripped), as
// strictly as --allow-from: every part a valid name, no wildcard, nothing missing. The trust
// domain is kept when it is not the mesh's.
func ParsePrincipal(principal string, mesh istio.MeshConfig) (Caller, error) {
	parts := strings.Split(principal, "/")
	if len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" || !validTrustDomain.MatchString(parts[0]) {
		return Caller{}, fmt.Errorf("principal %q is not of the form TRUSTDOMAIN/ns/NAMESPACE/sa/SERVICEACCOUNT", principal)
	}
	if errs := validation.IsDNS1123Label(parts[2]); len(errs) > 0 {
		return Caller{}, fmt.Errorf("principal %q: namespace %q is not a valid name", principal, parts[2])
	}
	if errs := validation.IsDNS1123Subdomain(parts[4]); len(errs) > 0 {
		return Caller{}, fmt.Errorf("principal %q: service account %q is not a valid name", principal, parts[4])
	}
	c := Caller{Namespace: parts[2], ServiceAccount: parts[4]}
	if parts[0] != mesh.TrustDomain {
		c.TrustDomain = parts[0]
	}
	return c, nil
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
			dup = dup || (have.TrustDomain == c.TrustDomain && have.Namespace == c.Namespace && have.ServiceAccount == c.ServiceAccount)
		}
		if !dup {
			list = append(list, c)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].String() < list[j].String() })
	return list
}
