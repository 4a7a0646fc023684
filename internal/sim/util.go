package sim

import (
	"strconv"
	"strings"
)

func annotationFloat(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 {
		return 0
	}
	return f
}

// matchesLabels: every selector label is on labels (an empty selector matches all).
func matchesLabels(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// hostNames reports whether host, written in an object of namespace objNS, is the Service
// name in namespace ns: a short name is read in the object's namespace, else the FQDN.
func hostNames(host, objNS, name, ns string) bool {
	if !strings.Contains(host, ".") {
		return host == name && objNS == ns
	}
	return host == name+"."+ns+".svc.cluster.local"
}

// matchValue is Istio's string matching in AuthorizationPolicies: exact, "*", "prefix*" or
// "*suffix".
func matchValue(pattern, value string) bool {
	switch {
	case pattern == "*":
		return value != ""
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(value, strings.TrimSuffix(pattern, "*"))
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(value, strings.TrimPrefix(pattern, "*"))
	}
	return pattern == value
}

func matchAny(patterns []string, value string) bool {
	for _, p := range patterns {
		if matchValue(p, value) {
			return true
		}
	}
	return false
}
