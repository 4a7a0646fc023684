package istio

import (
	"fmt"
	"slices"
	"strings"
)

// Service names the Kubernetes Service whose traffic is shifted.
type Service struct {
	Name      string
	Namespace string
}

func (s Service) String() string { return s.Name }

// FQDN is the service's host as Istio resolves it (cluster domain cluster.local).
func (s Service) FQDN() string { return s.Name + "." + s.Namespace + ".svc.cluster.local" }

// ParseService reads SERVICE as users write it: "reviews", "reviews.bookinfo",
// "reviews.bookinfo.svc" or "reviews.bookinfo.svc.cluster.local". A namespace in the name
// wins over defaultNamespace; ok is false when the name has a form we do not know.
func ParseService(arg, defaultNamespace string) (svc Service, namespaceFromName bool, ok bool) {
	parts := strings.Split(arg, ".")
	for _, p := range parts {
		if p == "" {
			return Service{}, false, false
		}
	}
	switch {
	case len(parts) == 1:
		return Service{Name: parts[0], Namespace: defaultNamespace}, false, true
	case len(parts) == 2, len(parts) >= 3 && parts[2] == "svc":
		return Service{Name: parts[0], Namespace: parts[1]}, true, true
	}
	return Service{}, false, false
}

// HostNamesService reports whether host, written in an Istio object (VirtualService hosts or
// destination, DestinationRule host) that lives in namespace objectNamespace, names svc, as
// Istio reads it: a short name (no dot) is the service of that name in the object's own
// namespace; any name with a dot is taken literally, so only the full name
// NAME.NAMESPACE.svc.DOMAIN names the service ("reviews.bookinfo" and "reviews.bookinfo.svc"
// name nothing). DOMAIN is the cluster's domain suffix, cluster.local unless istiod was told
// otherwise; any suffix is accepted, since the API server does not say which one it is.
func HostNamesService(host, objectNamespace string, svc Service) bool {
	parts := strings.Split(host, ".")
	if parts[0] != svc.Name {
		return false
	}
	if len(parts) == 1 {
		return objectNamespace == svc.Namespace
	}
	return len(parts) >= 4 && parts[1] == svc.Namespace && parts[2] == "svc" && !slices.Contains(parts[3:], "")
}

// HostNearMiss explains why host, in an object of objectNamespace, does not name svc although
// it looks as if it meant to; "" when host names svc or plainly names something else.
func HostNearMiss(host, objectNamespace string, svc Service) string {
	if HostNamesService(host, objectNamespace, svc) {
		return ""
	}
	parts := strings.Split(host, ".")
	if parts[0] != svc.Name {
		return ""
	}
	switch {
	case len(parts) == 1:
		return fmt.Sprintf("the short name %q means service %s in the object's own namespace %s, not in %s", host, host, objectNamespace, svc.Namespace)
	case parts[1] == svc.Namespace && (len(parts) == 2 || len(parts) == 3 && parts[2] == "svc"):
		return fmt.Sprintf("Istio expands only short names: it reads %q literally, and no service has that name; write %q or %q", host, svc.Name, svc.FQDN())
	}
	return ""
}
