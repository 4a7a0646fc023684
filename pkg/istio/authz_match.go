package istio

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// ruleMatches: every part present must match (from, to, when); within from and to, one
// element suffices; an empty rule matches everything. l4Only drops HTTP parts (as a DENY
// rule where only L4 is seen is enforced without them).
func ruleMatches(rule map[string]any, r Request, l4Only bool) Tri {
	m := Yes
	if from := asSlice(rule["from"]); len(from) > 0 {
		any := No
		for _, f := range from {
			any = or(any, sourceMatches(asMap(asMap(f)["source"]), r, l4Only))
		}
		m = and(m, any)
	}
	if to := asSlice(rule["to"]); len(to) > 0 {
		any := No
		for _, t := range to {
			any = or(any, operationMatches(asMap(asMap(t)["operation"]), r, l4Only))
		}
		m = and(m, any)
	}
	for _, w := range asSlice(rule["when"]) {
		m = and(m, conditionMatches(asMap(w), r, l4Only))
	}
	return m
}

// httpSourceFields and httpOperationFields are the fields only HTTP carries.
var (
	httpSourceFields    = []string{"requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks"}
	httpOperationFields = []string{"hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"}
)

// ruleNeedsHTTP: the rule uses a field or condition that only HTTP carries.
func ruleNeedsHTTP(rule map[string]any) bool {
	for _, f := range asSlice(rule["from"]) {
		if hasAny(asMap(asMap(f)["source"]), httpSourceFields) {
			return true
		}
	}
	for _, t := range asSlice(rule["to"]) {
		if hasAny(asMap(asMap(t)["operation"]), httpOperationFields) {
			return true
		}
	}
	for _, w := range asSlice(rule["when"]) {
		if key, _ := asMap(w)["key"].(string); !l4Conditions[key] {
			return true
		}
	}
	return false
}

func hasAny(m map[string]any, keys []string) bool {
	for _, k := range keys {
		if m[k] != nil {
			return true
		}
	}
	return false
}

// sourceMatches: all of a source's fields must match. Principals and namespaces come from
// the mTLS identity: plaintext has none.
func sourceMatches(s map[string]any, r Request, l4Only bool) Tri {
	namespace := principalNamespace(r.Principal)
	m := field(s, "principals", "notPrincipals", r.Principal, matchString)
	m = and(m, field(s, "namespaces", "notNamespaces", namespace, matchString))
	m = and(m, field(s, "ipBlocks", "notIpBlocks", orUnknown(r.SourceIP), matchIP))
	if !l4Only {
		m = and(m, field(s, "requestPrincipals", "notRequestPrincipals", r.RequestPrincipal, matchToken))
		m = and(m, field(s, "remoteIpBlocks", "notRemoteIpBlocks", Unknown, matchIP))
	}
	return m
}

func operationMatches(op map[string]any, r Request, l4Only bool) Tri {
	port := ""
	if r.Port > 0 {
		port = strconv.Itoa(r.Port)
	}
	m := field(op, "ports", "notPorts", orUnknown(port), matchString)
	if !l4Only {
		m = and(m, field(op, "hosts", "notHosts", orUnknown(strings.ToLower(r.Host)), matchHost))
		m = and(m, field(op, "methods", "notMethods", orUnknown(r.Method), matchString))
		m = and(m, field(op, "paths", "notPaths", orUnknown(r.Path), matchPath))
	}
	return m
}

// conditionMatches reads the `when` keys a request carries; a key it does not model may be
// anything.
func conditionMatches(c map[string]any, r Request, l4Only bool) Tri {
	key, _ := c["key"].(string)
	var value string
	switch {
	case key == "source.principal":
		value = r.Principal
	case key == "source.namespace":
		value = principalNamespace(r.Principal)
	case key == "source.ip":
		return field(c, "values", "notValues", orUnknown(r.SourceIP), matchIP)
	case key == "destination.port":
		value = orUnknown(portString(r.Port))
	case l4Only && !l4Conditions[key]:
		return Yes // enforced without it
	case key == "request.auth.principal":
		return field(c, "values", "notValues", r.RequestPrincipal, matchToken)
	case strings.HasPrefix(key, "request.headers[") && strings.HasSuffix(key, "]") && r.Headers != nil:
		value = r.Headers[strings.ToLower(key[len("request.headers["):len(key)-1])]
	default:
		value = Unknown
	}
	return field(c, "values", "notValues", value, matchString)
}

func portString(port int) string {
	if port <= 0 {
		return ""
	}
	return strconv.Itoa(port)
}

func orUnknown(v string) string {
	if v == "" {
		return Unknown
	}
	return v
}

// principalNamespace is NS of TRUSTDOMAIN/ns/NS/sa/SA; "" for none, Unknown for an unknown
// identity.
func principalNamespace(principal string) string {
	if principal == "" || principal == Unknown {
		return principal
	}
	parts := strings.Split(principal, "/")
	if len(parts) == 5 && parts[1] == "ns" && parts[3] == "sa" {
		return parts[2]
	}
	return ""
}

// field matches a positive and a negative list of a map: a present positive list must
// match, a present negative list must not. An absent value ("") matches no positive entry.
func field(m map[string]any, positive, negative, value string, match func(pattern, value string) Tri) Tri {
	result := Yes
	if values, present := stringList(m, positive); present {
		any := No
		for _, p := range values {
			any = or(any, match(p, value))
		}
		result = and(result, any)
	}
	if values, present := stringList(m, negative); present {
		any := No
		for _, p := range values {
			any = or(any, match(p, value))
		}
		result = and(result, not(any))
	}
	return result
}

// stringList reads a list of strings; present is false for an absent or empty list (Istio
// treats an empty list as unset).
func stringList(m map[string]any, key string) ([]string, bool) {
	raw := asSlice(m[key])
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out, len(out) > 0
}

// matchString is Istio's string match: exact, "prefix*", "*suffix", or "*" (any non-empty).
func matchString(pattern, value string) Tri {
	switch {
	case value == "":
		return No
	case value == Unknown:
		return unknownMatch(pattern)
	case strings.HasSuffix(value, Unknown):
		return partlyKnownMatch(pattern, strings.TrimSuffix(value, Unknown))
	case pattern == "*":
		return Yes
	case strings.HasPrefix(pattern, "*"):
		return boolTri(strings.HasSuffix(value, pattern[1:]))
	case strings.HasSuffix(pattern, "*"):
		return boolTri(strings.HasPrefix(value, pattern[:len(pattern)-1]))
	}
	return boolTri(value == pattern)
}

// unknownMatch: an unknown value matches "*" always, anything else for some values only.
func unknownMatch(pattern string) Tri {
	if pattern == "*" {
		return Yes
	}
	return Maybe
}

// partlyKnownMatch matches a value of which only a prefix is known (the principals of a
// namespace: TRUSTDOMAIN/ns/NS/sa/ and any service account).
func partlyKnownMatch(pattern, known string) Tri {
	switch {
	case pattern == "*":
		return Yes
	case strings.HasPrefix(pattern, "*"):
		return Maybe
	case strings.HasSuffix(pattern, "*"):
		prefix := pattern[:len(pattern)-1]
		if strings.HasPrefix(known, prefix) {
			return Yes
		}
		return boolTri(strings.HasPrefix(prefix, known)).maybe()
	}
	return boolTri(strings.HasPrefix(pattern, known)).maybe()
}

// maybe turns Yes into Maybe.
func (t Tri) maybe() Tri { return min(t, Maybe) }

// matchToken matches a request principal: an unknown one may be absent too, so even "*"
// matches only some requests.
func matchToken(pattern, value string) Tri {
	if value == Unknown {
		return Maybe
	}
	return matchString(pattern, value)
}

// matchHost compares hosts case-insensitively.
func matchHost(pattern, value string) Tri {
	return matchString(strings.ToLower(pattern), value)
}

// pathTemplate matches Istio's path templates: {*} one segment, {**} the rest.
var pathTemplate = regexp.MustCompile(`\{\*\*?\}`)

func matchPath(pattern, value string) Tri {
	if !strings.Contains(pattern, "{*") {
		return matchString(pattern, value)
	}
	if value == Unknown {
		return Maybe
	}
	var b strings.Builder
	b.WriteString("^")
	rest := pattern
	for {
		loc := pathTemplate.FindStringIndex(rest)
		if loc == nil {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:loc[0]]))
		if rest[loc[0]:loc[1]] == "{**}" {
			b.WriteString(".*")
		} else {
			b.WriteString("[^/]+")
		}
		rest = rest[loc[1]:]
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return No
	}
	return boolTri(re.MatchString(value))
}

// matchIP: an address within a CIDR (or equal to an address).
func matchIP(pattern, value string) Tri {
	switch value {
	case "":
		return No
	case Unknown:
		return Maybe
	}
	addr, err := netip.ParseAddr(value)
	if err != nil {
		return No
	}
	if prefix, err := netip.ParsePrefix(pattern); err == nil {
		return boolTri(prefix.Contains(addr))
	}
	if single, err := netip.ParseAddr(pattern); err == nil {
		return boolTri(single == addr)
	}
	return No
}

func boolTri(b bool) Tri {
	if b {
		return Yes
	}
	return No
}
