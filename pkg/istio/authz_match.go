package istio

import "strings"

// mode is how an enforcement point reads a rule.
type mode int8

const (
	// envoyHTTP: a sidecar, gateway or waypoint proxy judging an HTTP request.
	envoyHTTP mode = iota
	// envoyTCP: the same proxies on a TCP connection. istiod builds the TCP filter without the
	// HTTP-only fields: an ALLOW rule using one is skipped (never matches), a DENY rule is
	// built without it (matches more). Ports, IPs, remote IPs, identities, SNI and
	// destination attributes stay.
	envoyTCP
	// ztunnelL4: ztunnel. istiod converts selector policies for it: an ALLOW rule using an L7
	// field or condition is dropped; a DENY rule loses its L7 parts, and a source, operation
	// or condition left with no L4 field becomes an empty match, which ztunnel skips: it
	// never matches (istio/istio#61126). Trust domains are not carried at all.
	ztunnelL4
)

// evaluation reads the rules of one policy for one request at one point.
type evaluation struct {
	r         Request
	mode      mode
	allow     bool
	namespace string // the policy's: serviceAccounts without a namespace name it
}

// The fields each place can evaluate. Istio treats an empty list as unset.
var (
	// HTTP-only for Envoy (generator.go: the generators that fail forTCP).
	envoyHTTPSourceFields    = []string{"requestPrincipals", "notRequestPrincipals"}
	envoyHTTPOperationFields = []string{"hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"}
	// What istiod sends ztunnel (ambient/authorization.go handleRule).
	ztunnelSourceFields    = []string{"principals", "notPrincipals", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts", "ipBlocks", "notIpBlocks"}
	ztunnelL7SourceFields  = []string{"remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals"}
	ztunnelOperationFields = []string{"ports", "notPorts"}
	ztunnelConditions      = map[string]bool{"source.ip": true, "source.namespace": true, "source.principal": true, "destination.ip": true, "destination.port": true}
)

// istioAttribute: a `when` key istiod knows (model.go New). A rule with any other key is
// invalid: istiod skips it, and ztunnel never matches it.
func istioAttribute(key string) bool {
	switch key {
	case "source.ip", "remote.ip", "source.namespace", "source.serviceAccount", "source.trustDomain",
		"source.principal", "request.auth.principal", "request.auth.audiences", "request.auth.presenter",
		"destination.ip", "destination.port", "connection.sni":
		return true
	}
	for _, prefix := range []string{"request.headers", "request.auth.claims", "experimental.envoy.filters."} {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}

// envoyHTTPCondition: a `when` key Envoy reads only from HTTP requests.
func envoyHTTPCondition(key string) bool {
	return strings.HasPrefix(key, "request.headers") || strings.HasPrefix(key, "request.auth.")
}

func conditionKey(w any) string {
	key, _ := asMap(w)["key"].(string)
	return key
}

// rule: every part present must match (from, to, when); within from and to, one element
// suffices; an empty rule matches everything.
func (e evaluation) rule(raw any) Tri {
	rule, ok := raw.(map[string]any)
	if !ok {
		return No // istiod skips a nil rule
	}
	when := asSlice(rule["when"])
	for _, w := range when {
		if !istioAttribute(conditionKey(w)) {
			return No
		}
	}
	if e.allow && e.needsUnsupported(rule) {
		return No
	}
	m := Yes
	if from := asSlice(rule["from"]); len(from) > 0 {
		any := No
		for _, f := range from {
			any = or(any, e.source(asMap(asMap(f)["source"])))
		}
		m = and(m, any)
	}
	if to := asSlice(rule["to"]); len(to) > 0 {
		any := No
		for _, t := range to {
			any = or(any, e.operation(asMap(asMap(t)["operation"])))
		}
		m = and(m, any)
	}
	for _, w := range when {
		m = and(m, e.condition(asMap(w)))
	}
	return m
}

// needsUnsupported: the rule uses a field or condition the point cannot evaluate.
func (e evaluation) needsUnsupported(rule map[string]any) bool {
	var sourceFields, operationFields []string
	switch e.mode {
	case envoyHTTP:
		return false
	case envoyTCP:
		sourceFields, operationFields = envoyHTTPSourceFields, envoyHTTPOperationFields
	case ztunnelL4:
		sourceFields, operationFields = ztunnelL7SourceFields, envoyHTTPOperationFields
	}
	for _, f := range asSlice(rule["from"]) {
		if hasAny(asMap(asMap(f)["source"]), sourceFields) {
			return true
		}
	}
	for _, t := range asSlice(rule["to"]) {
		if hasAny(asMap(asMap(t)["operation"]), operationFields) {
			return true
		}
	}
	for _, w := range asSlice(rule["when"]) {
		key := conditionKey(w)
		if e.mode == envoyTCP && envoyHTTPCondition(key) || e.mode == ztunnelL4 && !ztunnelConditions[key] {
			return true
		}
	}
	return false
}

func hasAny(m map[string]any, keys []string) bool {
	for _, k := range keys {
		if _, present := stringList(m, k); present {
			return true
		}
	}
	return false
}

// source: all of a source's fields must match. Identities come from mTLS: plaintext has none.
func (e evaluation) source(s map[string]any) Tri {
	if e.mode == ztunnelL4 && !hasAny(s, ztunnelSourceFields) {
		return No // an empty match
	}
	principal := e.r.Principal
	m := field(s, "principals", "notPrincipals", func(p string) Tri { return matchString(p, principal) })
	m = and(m, field(s, "namespaces", "notNamespaces", e.namespaceMatcher()))
	m = and(m, field(s, "serviceAccounts", "notServiceAccounts", func(p string) Tri { return matchServiceAccount(p, e.namespace, principal) }))
	m = and(m, field(s, "ipBlocks", "notIpBlocks", func(p string) Tri { return matchIP(p, orUnknown(e.r.SourceIP)) }))
	if e.mode == ztunnelL4 {
		return m
	}
	m = and(m, field(s, "trustDomains", "notTrustDomains", func(p string) Tri { return matchTrustDomain(p, principal) }))
	m = and(m, field(s, "remoteIpBlocks", "notRemoteIpBlocks", func(p string) Tri { return matchIP(p, Unknown) }))
	if e.mode == envoyHTTP {
		m = and(m, field(s, "requestPrincipals", "notRequestPrincipals", func(p string) Tri { return matchToken(p, e.r.RequestPrincipal) }))
	}
	return m
}

func (e evaluation) namespaceMatcher() func(string) Tri {
	if e.mode == ztunnelL4 {
		return func(p string) Tri { return matchNamespaceZtunnel(p, e.r.Principal) }
	}
	return func(p string) Tri { return matchNamespaceEnvoy(p, e.r.Principal) }
}

func (e evaluation) operation(op map[string]any) Tri {
	if e.mode == ztunnelL4 && !hasAny(op, ztunnelOperationFields) {
		return No // an empty match
	}
	m := field(op, "ports", "notPorts", func(p string) Tri { return matchPort(p, e.r.Port) })
	if e.mode != envoyHTTP {
		return m
	}
	host, method, path := orUnknown(e.r.Host), orUnknown(e.r.Method), orUnknown(e.r.Path)
	m = and(m, field(op, "hosts", "notHosts", func(p string) Tri { return matchHost(p, host) }))
	m = and(m, field(op, "methods", "notMethods", func(p string) Tri { return matchString(p, method) }))
	return and(m, field(op, "paths", "notPaths", func(p string) Tri { return matchPath(p, path) }))
}

// condition reads the `when` keys a request carries; a key it does not model (remote.ip,
// destination.ip, connection.sni, JWT claims, Envoy metadata) may have any value.
func (e evaluation) condition(c map[string]any) Tri {
	key := conditionKey(c)
	switch {
	case e.mode == envoyTCP && envoyHTTPCondition(key):
		return Yes // a DENY rule is built without it
	case e.mode == ztunnelL4 && (!ztunnelConditions[key] || !hasAny(c, []string{"values", "notValues"})):
		return No // an empty match
	}
	principal := e.r.Principal
	var match func(string) Tri
	switch {
	case key == "source.principal":
		match = func(p string) Tri { return matchString(p, principal) }
	case key == "source.namespace":
		match = e.namespaceMatcher()
	case key == "source.serviceAccount":
		match = func(p string) Tri { return matchServiceAccount(p, e.namespace, principal) }
	case key == "source.trustDomain":
		match = func(p string) Tri { return matchTrustDomain(p, principal) }
	case key == "source.ip":
		match = func(p string) Tri { return matchIP(p, orUnknown(e.r.SourceIP)) }
	case key == "destination.port":
		match = func(p string) Tri { return matchPort(p, e.r.Port) }
	case key == "request.auth.principal":
		match = func(p string) Tri { return matchToken(p, e.r.RequestPrincipal) }
	case strings.HasPrefix(key, "request.headers[") && strings.HasSuffix(key, "]"):
		value, present := e.header(key[len("request.headers[") : len(key)-1])
		match = func(p string) Tri { return matchHeader(p, value, present) }
	default:
		match = func(string) Tri { return Maybe }
	}
	return field(c, "values", "notValues", match)
}

// header is the request's header (names are case-insensitive); Unknown when the request's
// headers are not known.
func (e evaluation) header(name string) (string, bool) {
	if e.r.Headers == nil {
		return Unknown, true
	}
	for k, v := range e.r.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func orUnknown(v string) string {
	if v == "" {
		return Unknown
	}
	return v
}

// field matches a positive and a negative list of a map: a present positive list must
// match, a present negative list must not.
func field(m map[string]any, positive, negative string, match func(pattern string) Tri) Tri {
	result := Yes
	if values, present := stringList(m, positive); present {
		any := No
		for _, p := range values {
			any = or(any, match(p))
		}
		result = and(result, any)
	}
	if values, present := stringList(m, negative); present {
		any := No
		for _, p := range values {
			any = or(any, match(p))
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
