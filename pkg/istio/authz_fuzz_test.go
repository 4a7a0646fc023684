package istio

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Policies and requests drawn from the fuzzer's bytes (FuzzAuthorizer): every field Istio
// knows, some it does not, and values of the wrong type.

// fuzzBytes hands out the fuzzer's bytes, zeros once they run out.
type fuzzBytes struct{ data []byte }

func (b *fuzzBytes) pick(n int) int {
	if len(b.data) == 0 {
		return 0
	}
	v := int(b.data[0])
	b.data = b.data[1:]
	return v % n
}

func pickFrom[T any](b *fuzzBytes, list []T) T {
	return list[b.pick(len(list))]
}

var (
	// fuzzValues are values for each field and condition (by its name without "not"), and for
	// any of them now and then.
	fuzzValues = map[string][]string{
		"principals":        {productpage, stranger, "cluster.local/ns/shop/*", "*/sa/productpage", "*", "cluster.local/ns/shop/sa/productpage*"},
		"namespaces":        {"shop", "other", "*", "sh*", "*sa", "shop/sa"},
		"serviceAccounts":   {"productpage", "shop/productpage", "other/stranger"},
		"trustDomains":      {"cluster.local", "cluster.*", "example.org", "*"},
		"ipBlocks":          {"10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "not-an-ip"},
		"requestPrincipals": {"https://issuer.example/alice", "https://issuer.example/*", "*/bob", "*"},
		"ports":             {"9080", "8080", "x"},
		"hosts":             {"*.svc.cluster.local", "REVIEWS.shop.svc.cluster.local", "api.example.com", "*"},
		"methods":           {"GET", "POST", "*"},
		"paths":             {"/api", "/api/*", "/books/{*}", "/books/{**}", "*", "/books/1"},
		"headers":           {"alice", "bob", "*", "al*"},
		"any":               {productpage, "shop", "10.1.2.3", "9080", "GET", "/api", "", Unknown, "*"},
	}
	fuzzValuesOf = map[any]string{"remoteIpBlocks": "ipBlocks", "source.ip": "ipBlocks", "remote.ip": "ipBlocks", "destination.ip": "ipBlocks",
		"source.namespace": "namespaces", "source.principal": "principals", "source.serviceAccount": "serviceAccounts",
		"source.trustDomain": "trustDomains", "destination.port": "ports", "request.auth.principal": "requestPrincipals",
		"request.headers[x-user]": "headers"}
	fuzzSourceFields = []string{"principals", "notPrincipals", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts",
		"trustDomains", "notTrustDomains", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals"}
	fuzzOperationFields = []string{"ports", "notPorts", "hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"}
	fuzzKeys            = []any{"source.namespace", "source.principal", "source.ip", "source.serviceAccount", "source.trustDomain", "destination.port",
		"destination.ip", "remote.ip", "connection.sni", "request.headers[x-user]", "request.headers", "request.auth.principal",
		"request.auth.claims[groups]", "experimental.envoy.filters.a[b]", "source.color", 5.0}
	fuzzPoints = []Point{reviewsSidecar, ratingsSidecar, tenantSidecar, reviewsZtunnel, edgeGateway, reviewsWaypoint, ratingsWaypoint}
)

// list is a list of values for field, or now and then something else.
func (b *fuzzBytes) list(field any) any {
	name, _ := field.(string)
	name = strings.TrimPrefix(name, "not")
	if name != "" && !strings.Contains(name, ".") {
		name = strings.ToLower(name[:1]) + name[1:]
	}
	if alias, ok := fuzzValuesOf[name]; ok {
		name = alias
	}
	values, ok := fuzzValues[name]
	if !ok || b.pick(8) == 0 {
		values = fuzzValues["any"]
	}
	switch b.pick(16) {
	case 0:
		return "GET"
	case 1:
		return 7.0
	case 2:
		return []any{1.0, nil, map[string]any{}}
	case 3:
		return []any{}
	}
	out := make([]any, 1+b.pick(3))
	for i := range out {
		out[i] = pickFrom(b, values)
	}
	return out
}

func (b *fuzzBytes) fields(names []string) map[string]any {
	m := map[string]any{}
	for range 1 + b.pick(4)/3 {
		name := pickFrom(b, names)
		m[name] = b.list(name)
	}
	return m
}

// entries is a rule's from or to: entries {key: fields}, or something else.
func (b *fuzzBytes) entries(key string, names []string) any {
	switch b.pick(10) {
	case 0:
		return map[string]any{key: b.fields(names)}
	case 1:
		return []any{nil, "x", map[string]any{key: "x"}}
	}
	out := make([]any, 1+b.pick(2))
	for i := range out {
		out[i] = map[string]any{key: b.fields(names)}
	}
	return out
}

func (b *fuzzBytes) rule() any {
	r := map[string]any{}
	switch b.pick(16) {
	case 0:
		return nil
	case 1:
		return "rule"
	case 2:
		return r
	}
	if b.pick(3) != 0 {
		r["from"] = b.entries("source", fuzzSourceFields)
	}
	if b.pick(3) == 0 {
		r["to"] = b.entries("operation", fuzzOperationFields)
	}
	if b.pick(4) == 0 {
		var when []any
		for range 1 + b.pick(2) {
			key := pickFrom(b, fuzzKeys)
			when = append(when, map[string]any{"key": key, pickFrom(b, []string{"values", "values", "notValues"}): b.list(key)})
		}
		r["when"] = when
	}
	if len(r) == 0 {
		r["from"] = b.entries("source", fuzzSourceFields)
	}
	return r
}

var fuzzTargeting = []map[string]any{
	{},
	{},
	{"selector": map[string]any{"matchLabels": map[string]any{"app": "reviews"}}},
	{"selector": map[string]any{"matchLabels": map[string]any{"app": "reviews"}}},
	{"selector": map[string]any{"matchLabels": map[string]any{"app": "ratings"}}},
	{"selector": map[string]any{}},
	{"selector": "reviews"},
	{"targetRefs": []any{map[string]any{"group": gatewayGroup, "kind": "Gateway", "name": "edge"}}},
	{"targetRefs": []any{map[string]any{"group": gatewayGroup, "kind": "Gateway", "name": "waypoint"}}},
	{"targetRefs": []any{map[string]any{"group": "", "kind": "Service", "name": "reviews"}}},
	{"targetRef": map[string]any{"group": gatewayGroup, "kind": "GatewayClass", "name": GatewayClassWaypoint}},
	{"targetRefs": []any{nil, "x", map[string]any{"kind": 1.0}}},
	{"targetRefs": "reviews"},
}

// policy is one AuthorizationPolicy of any shape; action "" draws one.
func (b *fuzzBytes) policy(name, action string) *unstructured.Unstructured {
	spec := map[string]any{}
	for k, v := range pickFrom(b, fuzzTargeting) {
		spec[k] = v
	}
	if action == "" {
		action = pickFrom(b, []string{"", "ALLOW", "ALLOW", "DENY", "DENY", "CUSTOM", "AUDIT", "allow"})
	}
	if action != "" {
		spec["action"] = action
	}
	switch b.pick(8) {
	case 0:
	case 1:
		spec["rules"] = []any{}
	case 2:
		spec["rules"] = "all"
	default:
		rules := make([]any, 1+b.pick(3))
		for i := range rules {
			rules[i] = b.rule()
		}
		spec["rules"] = rules
	}
	metadata := map[string]any{"name": name, "namespace": pickFrom(b, []string{"shop", "shop", "shop", testRoot, "other"})}
	if b.pick(6) == 0 {
		metadata["annotations"] = map[string]any{DryRunAnnotation: pickFrom(b, []string{"true", "false", "1", "maybe"})}
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": metadata, "spec": spec}}
}

// withSpec is a policy of shop whose spec is any JSON value.
func withSpec(name string, raw []byte) (*unstructured.Unstructured, bool) {
	var spec any
	if json.Unmarshal(raw, &spec) != nil {
		return nil, false
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": name, "namespace": "shop"}, "spec": spec}}, true
}

// request is a request with every attribute known, or (mostly) some unknown.
func (b *fuzzBytes) request() Request {
	r := Request{
		Principal:        pickFrom(b, []string{"", productpage, stranger, "example.org/ns/shop/sa/productpage", "odd"}),
		RequestPrincipal: pickFrom(b, []string{"", "https://issuer.example/alice", "https://issuer.example/t/bob"}),
		SourceIP:         pickFrom(b, []string{"10.1.2.3", "192.168.0.1", "bad"}),
		Port:             pickFrom(b, []int{9080, 8080}),
		TCP:              b.pick(2) == 0,
		Method:           pickFrom(b, []string{"GET", "POST"}),
		Path:             pickFrom(b, []string{"/api", "/books/1?page=2", "/books/1/2"}),
		Host:             pickFrom(b, []string{"reviews.shop.svc.cluster.local", "API.example.com"}),
		Headers:          pickFrom(b, []map[string]string{{}, {"X-User": "alice"}}),
	}
	if b.pick(4) == 0 {
		return r
	}
	r.Principal = pickFrom(b, []string{r.Principal, Unknown, Unknown, "cluster.local/ns/shop/sa/" + Unknown})
	r.RequestPrincipal = pickFrom(b, []string{r.RequestPrincipal, Unknown})
	r.SourceIP = pickFrom(b, []string{r.SourceIP, ""})
	r.Port = pickFrom(b, []int{r.Port, 0})
	r.Method = pickFrom(b, []string{r.Method, ""})
	r.Path = pickFrom(b, []string{r.Path, ""})
	r.Host = pickFrom(b, []string{r.Host, ""})
	r.Headers = pickFrom(b, []map[string]string{r.Headers, nil})
	return r
}

// concrete: every attribute of r known.
func concrete(r Request) bool {
	return !strings.Contains(r.Principal, Unknown) && r.RequestPrincipal != Unknown && r.SourceIP != "" && r.Port > 0 &&
		r.Method != "" && r.Path != "" && r.Host != "" && r.Headers != nil
}

// modelled: no rule of aps reads what no request tells (the client's address behind
// proxies, destination IP, SNI, JWT claims, Envoy metadata): for a concrete request the
// evaluator then answers yes or no.
func modelled(aps []*unstructured.Unstructured) bool {
	for _, ap := range aps {
		raw, _ := json.Marshal(ap.Object)
		if strings.Contains(strings.ToLower(string(raw)), "remoteipblocks") {
			return false
		}
		rules, _, _ := unstructured.NestedSlice(ap.Object, "spec", "rules")
		for _, rule := range rules {
			for _, w := range asSlice(asMap(rule)["when"]) {
				if key := conditionKey(w); unmodelledKey(key) {
					return false
				}
			}
		}
	}
	return true
}

func unmodelledKey(key string) bool {
	switch key {
	case "remote.ip", "destination.ip", "connection.sni", "request.auth.audiences", "request.auth.presenter":
		return true
	}
	header := strings.HasPrefix(key, "request.headers[") && strings.HasSuffix(key, "]")
	return strings.HasPrefix(key, "request.auth.claims") || strings.HasPrefix(key, "experimental.envoy.filters.") ||
		strings.HasPrefix(key, "request.headers") && !header
}

func describe(aps []*unstructured.Unstructured) string {
	var out []string
	for _, ap := range aps {
		raw, _ := json.Marshal(ap.Object)
		out = append(out, string(raw))
	}
	return fmt.Sprint(out)
}

// concretize is one request r stands for: each unknown attribute given a value (an unknown
// identity is a SPIFFE one, as Istio's are).
func (b *fuzzBytes) concretize(r Request) Request {
	switch {
	case r.Principal == Unknown:
		r.Principal = pickFrom(b, []string{productpage, stranger, "example.org/ns/shop/sa/x"})
	case strings.Contains(r.Principal, Unknown):
		r.Principal = strings.Replace(r.Principal, Unknown, pickFrom(b, []string{"productpage", "stranger", "x"}), 1)
	}
	if r.RequestPrincipal == Unknown {
		r.RequestPrincipal = pickFrom(b, []string{"", "https://issuer.example/alice", "https://issuer.example/t/bob"})
	}
	if r.SourceIP == "" {
		r.SourceIP = pickFrom(b, []string{"10.1.2.3", "192.168.0.1"})
	}
	if r.Port == 0 {
		r.Port = pickFrom(b, []int{9080, 8080})
	}
	if r.Method == "" {
		r.Method = pickFrom(b, []string{"GET", "POST"})
	}
	if r.Path == "" {
		r.Path = pickFrom(b, []string{"/api", "/books/1", "/api?x=1"})
	}
	if r.Host == "" {
		r.Host = pickFrom(b, []string{"reviews.shop.svc.cluster.local", "API.example.com"})
	}
	if r.Headers == nil {
		r.Headers = pickFrom(b, []map[string]string{{}, {"x-user": "alice"}, {"X-USER": "bob"}})
	}
	return r
}
