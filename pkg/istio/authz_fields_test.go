package istio

import "testing"

// get is an HTTP request from productpage with every attribute known.
func get(path string) Request {
	return Request{Principal: productpage, SourceIP: "10.1.2.3", Port: 9080, Method: "GET", Path: path, Host: "reviews.shop.svc.cluster.local", Headers: map[string]string{}}
}

// allowTo is an ALLOW policy of shop with one rule whose operation is op (YAML flow).
func allowTo(op string) string {
	return shop("allow", "ALLOW", "[{to: [{operation: "+op+"}]}]")
}

// allowWhen is an ALLOW policy of shop with one rule and one condition (YAML flow).
func allowWhen(condition string) string {
	return shop("allow", "ALLOW", "[{when: ["+condition+"]}]")
}

func withToken(r Request, token string) Request {
	r.RequestPrincipal = token
	return r
}

func withHeaders(r Request, headers map[string]string) Request {
	r.Headers = headers
	return r
}

// Addresses and end-user tokens.
var sourceFieldCases = []decideCase{
	{name: "ipBlocks CIDR", policies: allowFrom("{ipBlocks: [10.0.0.0/8]}"), req: get("/"), want: Yes},
	{name: "ipBlocks CIDR, outside", policies: allowFrom("{ipBlocks: [192.168.0.0/16]}"), req: get("/"), want: No},
	{name: "ipBlocks single address", policies: allowFrom("{ipBlocks: [10.1.2.3]}"), req: get("/"), want: Yes},
	{name: "ipBlocks, address unknown", policies: allowFrom("{ipBlocks: [10.0.0.0/8]}"), req: Request{}, want: Maybe},
	{name: "notIpBlocks", policies: allowFrom("{notIpBlocks: [10.0.0.0/8]}"), req: get("/"), want: No},
	{name: "remoteIpBlocks: the client's address is never known", policies: allowFrom("{remoteIpBlocks: [10.0.0.0/8]}"), req: get("/"), want: Maybe},
	{name: "requestPrincipals exact", policies: allowFrom("{requestPrincipals: [https://issuer.example/alice]}"), req: withToken(get("/"), "https://issuer.example/alice"), want: Yes},
	{name: "requestPrincipals, another subject", policies: allowFrom("{requestPrincipals: [https://issuer.example/alice]}"), req: withToken(get("/"), "https://issuer.example/bob"), want: No},
	{name: "requestPrincipals, no token", policies: allowFrom("{requestPrincipals: [https://issuer.example/alice]}"), req: get("/"), want: No},
	{name: "requestPrincipals, token unknown", policies: allowFrom("{requestPrincipals: [https://issuer.example/alice]}"), req: withToken(get("/"), Unknown), want: Maybe},
	{name: `requestPrincipals "*" is any token`, policies: allowFrom(`{requestPrincipals: ["*"]}`), req: withToken(get("/"), "https://issuer.example/bob"), want: Yes},
	{name: `requestPrincipals "*", no token`, policies: allowFrom(`{requestPrincipals: ["*"]}`), req: get("/"), want: No},
	{name: `requestPrincipals "*", an unknown token may be none`, policies: allowFrom(`{requestPrincipals: ["*"]}`), req: withToken(get("/"), Unknown), want: Maybe},
	{name: "requestPrincipals ISS/* is any subject of ISS", policies: allowFrom(`{requestPrincipals: ["https://issuer.example/*"]}`), req: withToken(get("/"), "https://issuer.example/bob"), want: Yes},
	{name: "requestPrincipals ISS/* is not another issuer under ISS (split at the last /)", policies: allowFrom(`{requestPrincipals: ["https://issuer.example/*"]}`),
		req: withToken(get("/"), "https://issuer.example/tenant/bob"), want: No},
	{name: "requestPrincipals */SUB is SUB of any issuer", policies: allowFrom(`{requestPrincipals: ["*/bob"]}`), req: withToken(get("/"), "https://issuer.example/tenant/bob"), want: Yes},
	{name: "notRequestPrincipals * is requests without a token", policies: allowFrom(`{notRequestPrincipals: ["*"]}`), req: get("/"), want: Yes},
}

// Operations: methods, paths (with templates), hosts and ports.
var operationCases = []decideCase{
	{name: "methods", policies: allowTo("{methods: [GET, HEAD]}"), req: get("/"), want: Yes},
	{name: "methods, another", policies: allowTo("{methods: [POST]}"), req: get("/"), want: No},
	{name: "methods, any method", policies: allowTo("{methods: [POST]}"), req: Request{Principal: productpage}, want: Maybe},
	{name: `methods "*", any method`, policies: allowTo(`{methods: ["*"]}`), req: Request{Principal: productpage}, want: Yes},
	{name: "notMethods", policies: allowTo("{notMethods: [GET]}"), req: get("/"), want: No},
	{name: "paths exact", policies: allowTo("{paths: [/api]}"), req: get("/api"), want: Yes},
	{name: "paths exact, longer", policies: allowTo("{paths: [/api]}"), req: get("/api/v1"), want: No},
	{name: "paths without the query", policies: allowTo("{paths: [/api]}"), req: get("/api?user=1"), want: Yes},
	{name: "paths prefix", policies: allowTo(`{paths: ["/api/*"]}`), req: get("/api/v1/books"), want: Yes},
	{name: "paths suffix", policies: allowTo(`{paths: ["*.css"]}`), req: get("/static/site.css"), want: Yes},
	{name: "notPaths", policies: allowTo(`{notPaths: ["/admin*"]}`), req: get("/admin/users"), want: No},
	{name: "path template {*} is one segment", policies: allowTo(`{paths: ["/books/{*}"]}`), req: get("/books/42"), want: Yes},
	{name: "path template {*} is not two", policies: allowTo(`{paths: ["/books/{*}"]}`), req: get("/books/42/pages"), want: No},
	{name: "path template {*} is not none", policies: allowTo(`{paths: ["/books/{*}"]}`), req: get("/books/"), want: No},
	{name: "path template {**} is the rest", policies: allowTo(`{paths: ["/books/{**}"]}`), req: get("/books/42/pages/7"), want: Yes},
	{name: "path template in the middle", policies: allowTo(`{paths: ["/books/{*}/pages"]}`), req: get("/books/42/pages"), want: Yes},
	{name: "path template, path unknown", policies: allowTo(`{paths: ["/books/{*}"]}`), req: Request{Principal: productpage}, want: Maybe},
	{name: "hosts ignore case", policies: allowTo("{hosts: [Reviews.Shop.svc.cluster.local]}"), req: get("/"), want: Yes},
	{name: "hosts suffix", policies: allowTo(`{hosts: ["*.svc.cluster.local"]}`), req: get("/"), want: Yes},
	{name: "notHosts", policies: allowTo(`{notHosts: ["reviews.*"]}`), req: get("/"), want: No},
	{name: "ports", policies: allowTo(`{ports: ["9080"]}`), req: get("/"), want: Yes},
	{name: "ports, another", policies: allowTo(`{ports: ["8080"]}`), req: get("/"), want: No},
	{name: "ports, any port", policies: allowTo(`{ports: ["8080"]}`), req: Request{Principal: productpage}, want: Maybe},
	{name: "notPorts", policies: allowTo(`{notPorts: ["9080"]}`), req: get("/"), want: No},
	{name: "the fields of one operation are ANDed", policies: allowTo(`{methods: [GET], paths: [/admin]}`), req: get("/api"), want: No},
	{name: "the operations of a rule are ORed", policies: shop("allow", "ALLOW", "[{to: [{operation: {paths: [/admin]}}, {operation: {methods: [GET]}}]}]"), req: get("/api"), want: Yes},
	{name: "from and to of a rule are ANDed", policies: shop("allow", "ALLOW", "[{from: [{source: {namespaces: [shop]}}], to: [{operation: {methods: [POST]}}]}]"), req: get("/"), want: No},
}

// Conditions: the keys this evaluator reads, and those it cannot (any value).
var conditionCases = []decideCase{
	{name: "source.namespace", policies: allowWhen("{key: source.namespace, values: [shop]}"), req: get("/"), want: Yes},
	{name: "source.namespace, another", policies: allowWhen("{key: source.namespace, values: [other]}"), req: get("/"), want: No},
	{name: "source.namespace needs mTLS", policies: allowWhen("{key: source.namespace, values: [shop]}"), req: Request{}, want: No},
	{name: "source.namespace notValues", policies: allowWhen("{key: source.namespace, notValues: [shop]}"), req: get("/"), want: No},
	{name: "source.principal", policies: allowWhen("{key: source.principal, values: [cluster.local/ns/shop/sa/productpage]}"), req: get("/"), want: Yes},
	{name: "source.principal, unknown", policies: allowWhen("{key: source.principal, values: [cluster.local/ns/shop/sa/productpage]}"), req: Request{Principal: Unknown}, want: Maybe},
	{name: "source.serviceAccount", policies: allowWhen("{key: source.serviceAccount, values: [shop/productpage]}"), req: get("/"), want: Yes},
	{name: "source.ip", policies: allowWhen("{key: source.ip, values: [10.1.0.0/16]}"), req: get("/"), want: Yes},
	{name: "destination.port", policies: allowWhen(`{key: destination.port, values: ["9080"]}`), req: get("/"), want: Yes},
	{name: "destination.port, another", policies: allowWhen(`{key: destination.port, values: ["8080"]}`), req: get("/"), want: No},
	{name: "destination.port, any port", policies: allowWhen(`{key: destination.port, values: ["8080"]}`), req: Request{}, want: Maybe},
	{name: "request.headers", policies: allowWhen("{key: 'request.headers[x-user]', values: [alice]}"), req: withHeaders(get("/"), map[string]string{"X-User": "alice"}), want: Yes},
	{name: "request.headers, another value", policies: allowWhen("{key: 'request.headers[x-user]', values: [alice]}"), req: withHeaders(get("/"), map[string]string{"x-user": "bob"}), want: No},
	{name: "request.headers, absent", policies: allowWhen("{key: 'request.headers[x-user]', values: [alice]}"), req: get("/"), want: No},
	{name: "request.headers, headers unknown", policies: allowWhen("{key: 'request.headers[x-user]', values: [alice]}"), req: Request{}, want: Maybe},
	{name: `request.headers "*" is present`, policies: allowWhen(`{key: 'request.headers[x-user]', values: ["*"]}`), req: withHeaders(get("/"), map[string]string{"x-user": ""}), want: Yes},
	{name: "request.headers notValues, absent", policies: allowWhen("{key: 'request.headers[x-user]', notValues: [bob]}"), req: get("/"), want: Yes},
	{name: "request.auth.principal", policies: allowWhen("{key: request.auth.principal, values: [https://issuer.example/alice]}"), req: withToken(get("/"), "https://issuer.example/alice"), want: Yes},
	{name: "request.auth.principal, token unknown", policies: allowWhen("{key: request.auth.principal, values: [https://issuer.example/alice]}"), req: Request{RequestPrincipal: Unknown}, want: Maybe},
	{name: "request.auth.claims are not modelled", policies: allowWhen("{key: 'request.auth.claims[groups]', values: [admin]}"), req: get("/"), want: Maybe},
	{name: "connection.sni is not modelled", policies: allowWhen("{key: connection.sni, values: [reviews]}"), req: get("/"), want: Maybe},
	{name: "remote.ip is not known", policies: allowWhen("{key: remote.ip, values: [10.0.0.0/8]}"), req: get("/"), want: Maybe},
	{name: "a key Istio does not know: istiod skips the ALLOW rule", policies: allowWhen("{key: source.color, values: [blue]}"), req: get("/"), want: No},
	{name: "a key Istio does not know: istiod skips the DENY rule", policies: shop("deny", "DENY", "[{when: [{key: source.color, values: [blue]}]}]"), req: get("/"), want: Yes},
	{name: "conditions are ANDed", policies: shop("allow", "ALLOW", `[{when: [{key: source.namespace, values: [shop]}, {key: destination.port, values: ["8080"]}]}]`), req: get("/"), want: No},
}

func TestDecideFields(t *testing.T) {
	runDecideCases(t, sourceFieldCases)
	runDecideCases(t, operationCases)
	runDecideCases(t, conditionCases)
}
