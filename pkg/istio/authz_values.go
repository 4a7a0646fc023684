package istio

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// The matchers of one value against one pattern of a policy, as istiod generates them
// (pilot/pkg/security/authz/model/generator.go) and as ztunnel evaluates them. A value may be
// Unknown, or (a principal) hold Unknown in place of a part not known.

// matchString is Istio's string match: exact, "prefix*", "*suffix", or "*" (any non-empty
// value). Unknown alone stands for any non-empty value; within a value (TD/ns/NS/sa/Unknown)
// for one or more characters other than '/'.
func matchString(pattern, value string) Tri {
	switch {
	case value == "":
		return No
	case pattern == "*":
		return Yes
	case value == Unknown:
		return Maybe
	}
	known, rest, partial := strings.Cut(value, Unknown)
	switch {
	case !partial:
		return boolTri(stringMatches(pattern, value))
	case strings.Contains(rest, Unknown):
		return Maybe
	case strings.HasPrefix(pattern, "*"):
		return partialMatch(strings.HasSuffix(rest, pattern[1:]), strings.HasSuffix(pattern[1:], rest))
	case strings.HasSuffix(pattern, "*"):
		prefix := pattern[:len(pattern)-1]
		return partialMatch(strings.HasPrefix(known, prefix), strings.HasPrefix(prefix, known))
	}
	middle, ok := strings.CutPrefix(pattern, known)
	middle, ok2 := strings.CutSuffix(middle, rest)
	return partialMatch(false, ok && ok2 && middle != "" && !strings.Contains(middle, "/"))
}

func stringMatches(pattern, value string) bool {
	switch {
	case pattern == "*":
		return value != ""
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(value, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(value, pattern[:len(pattern)-1])
	}
	return value == pattern
}

// partialMatch: Yes when every value matches, Maybe when some may, else No.
func partialMatch(every, some bool) Tri {
	switch {
	case every:
		return Yes
	case some:
		return Maybe
	}
	return No
}

// principalParts splits TRUSTDOMAIN/ns/NS/sa/SA; ok is false for another shape.
func principalParts(principal string) (trustDomain, namespace, serviceAccount string, ok bool) {
	parts := strings.Split(principal, "/")
	if len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" {
		return "", "", "", false
	}
	return parts[0], parts[2], parts[4], true
}

// principalNamespace is NS of TRUSTDOMAIN/ns/NS/sa/SA; "" for none, Unknown for an unknown
// identity.
func principalNamespace(principal string) string {
	if principal == "" || principal == Unknown {
		return principal
	}
	_, namespace, _, _ := principalParts(principal)
	return namespace
}

// matchNamespaceEnvoy is istiod's namespace match for Envoy: the regex .*/ns/NS/.* over the
// peer's URI SAN, each * of NS standing for any characters, '/' included.
func matchNamespaceEnvoy(pattern, principal string) Tri {
	switch {
	case principal == "":
		return No
	case principal == Unknown:
		return unknownMatch(pattern)
	case strings.Contains(principal, Unknown):
		namespace := principalNamespace(principal)
		switch {
		case namespace == "":
			return Maybe
		case pattern == "*":
			return Yes
		case namespace == Unknown:
			return Maybe
		}
		// Only a pattern with '*' or '/' can reach past the namespace into the unknown part.
		glob := regexp.MustCompile("^" + namespaceGlob(pattern) + "$")
		return partialMatch(glob.MatchString(namespace), strings.ContainsAny(pattern, "*/"))
	}
	re := regexp.MustCompile("^.*/ns/" + namespaceGlob(pattern) + "/.*$")
	return boolTri(re.MatchString("spiffe://" + principal))
}

func namespaceGlob(pattern string) string {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, ".*")
}

// matchNamespaceZtunnel is ztunnel's: a string match on the namespace of the identity.
func matchNamespaceZtunnel(pattern, principal string) Tri {
	return matchString(pattern, principalNamespace(principal))
}

// matchServiceAccount matches NS/SA, or SA of the policy's namespace, exactly.
func matchServiceAccount(pattern, policyNamespace, principal string) Tri {
	namespace, account, found := strings.Cut(pattern, "/")
	if !found {
		namespace, account = policyNamespace, pattern
	}
	switch principal {
	case "":
		return No
	case Unknown:
		return Maybe
	}
	_, ns, sa, ok := principalParts(principal)
	if !ok {
		return No
	}
	return and(matchExact(namespace, ns), matchExact(account, sa))
}

func matchExact(want, got string) Tri {
	switch {
	case got == want:
		return Yes
	case strings.Contains(got, Unknown):
		return Maybe
	}
	return No
}

// matchTrustDomain is istiod's trust domain match over the URI SAN: "*" any identity, an
// exact domain, or one '*' standing for characters other than '/'.
func matchTrustDomain(pattern, principal string) Tri {
	switch {
	case principal == "":
		return No
	case pattern == "*":
		return Yes
	case principal == Unknown:
		return Maybe
	}
	domain, _, _ := strings.Cut(principal, "/")
	if strings.Contains(domain, Unknown) {
		return Maybe
	}
	if !strings.Contains(pattern, "*") {
		return boolTri(domain == pattern && strings.Contains(principal, "/"))
	}
	parts := strings.SplitN(pattern, "*", 2)
	re := regexp.MustCompile("^" + regexp.QuoteMeta(parts[0]) + "[^/]*" + regexp.QuoteMeta(parts[1]) + "/.*$")
	return boolTri(re.MatchString(principal))
}

// unknownMatch: an unknown value matches "*" always, anything else for some values only.
func unknownMatch(pattern string) Tri {
	if pattern == "*" {
		return Yes
	}
	return Maybe
}

// matchToken matches a request principal ISS/SUB as istiod does: the pattern is split at its
// last '/' into issuer and subject, each matched on its own ("*" = any non-empty). An
// unknown token may also be absent: even "*" matches only some requests.
func matchToken(pattern, value string) Tri {
	switch value {
	case Unknown:
		return Maybe
	case "":
		return No
	}
	cut := func(s string) (string, string, bool) {
		if i := strings.LastIndex(s, "/"); i >= 0 {
			return s[:i], s[i+1:], true
		}
		return s, "", false
	}
	iss, sub, found := cut(pattern)
	gotIss, gotSub, _ := cut(value)
	issOK, subOK := func(s string) bool { return s != "" }, func(s string) bool { return s != "" }
	switch {
	case pattern == "*":
	case strings.HasPrefix(pattern, "*") && found:
		if iss != "*" {
			issOK = func(s string) bool { return strings.HasSuffix(s, iss[1:]) }
		}
		subOK = func(s string) bool { return s == sub }
	case strings.HasPrefix(pattern, "*"):
		subOK = func(s string) bool { return strings.HasSuffix(s, pattern[1:]) }
	case strings.HasSuffix(pattern, "*") && found:
		issOK = func(s string) bool { return s == iss }
		if sub != "*" {
			subOK = func(s string) bool { return strings.HasPrefix(s, sub[:len(sub)-1]) }
		}
	case strings.HasSuffix(pattern, "*"):
		issOK = func(s string) bool { return strings.HasPrefix(s, pattern[:len(pattern)-1]) }
	default:
		issOK, subOK = func(s string) bool { return s == iss }, func(s string) bool { return s == sub }
	}
	return boolTri(issOK(gotIss) && subOK(gotSub))
}

// matchHeader is Envoy's header match: "*" present, "prefix*", "*suffix", or exact.
func matchHeader(pattern string, value string, present bool) Tri {
	switch {
	case value == Unknown:
		return Maybe
	case !present:
		return No
	case pattern == "*":
		return Yes
	}
	return boolTri(stringMatches(pattern, value))
}

// matchHost compares hosts case-insensitively.
func matchHost(pattern, value string) Tri {
	return matchString(strings.ToLower(pattern), strings.ToLower(value))
}

// matchPort: a port number against a port of the policy.
func matchPort(pattern string, port int) Tri {
	want, err := strconv.Atoi(pattern)
	switch {
	case err != nil:
		return No
	case port <= 0:
		return Maybe
	}
	return boolTri(want == port)
}

// pathTemplate matches Istio's path templates: {*} one segment, {**} the rest.
var pathTemplate = regexp.MustCompile(`\{\*\*?\}`)

// matchPath matches the path without its query and fragment, as Envoy's path matchers do.
func matchPath(pattern, value string) Tri {
	if value != Unknown {
		value, _, _ = strings.Cut(value, "?")
		value, _, _ = strings.Cut(value, "#")
	}
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
	return boolTri(regexp.MustCompile(b.String()).MatchString(value))
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
