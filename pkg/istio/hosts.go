package istio

import "strings"

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

// HostNamesService reports whether host, written in an Istio object that lives in namespace
// objectNamespace, names svc. Istio reads a short name relative to the object's namespace;
// longer names may omit the cluster domain.
func HostNamesService(host, objectNamespace string, svc Service) bool {
	parts := strings.Split(host, ".")
	if parts[0] != svc.Name {
		return false
	}
	switch {
	case len(parts) == 1:
		return objectNamespace == svc.Namespace
	case len(parts) == 2:
		return parts[1] == svc.Namespace
	default:
		// name.ns.svc or name.ns.svc.<cluster domain>
		return parts[1] == svc.Namespace && parts[2] == "svc"
	}
}
