package istio

import "testing"

// Where only L4 is seen. Envoy on a TCP connection (sidecar, gateway, waypoint): istiod
// builds the TCP filter without the HTTP-only fields, skipping an ALLOW rule that uses one and
// building a DENY rule without it. ztunnel: istiod drops an ALLOW rule with L7 parts; a DENY
// rule loses them, and a source, operation or condition left empty never matches.

func tcp(r Request) Request {
	r.TCP = true
	return r
}

var (
	fromProductpage = "{principals: [cluster.local/ns/shop/sa/productpage]}"
	denyPosts       = shop("deny", "DENY", "[{from: [{source: "+fromProductpage+"}], to: [{operation: {methods: [POST]}}]}]")
	denyPostsOn9080 = shop("deny", "DENY", `[{from: [{source: `+fromProductpage+`}], to: [{operation: {methods: [POST], ports: ["9080"]}}]}]`)
	allowGets       = shop("allow", "ALLOW", "[{from: [{source: "+fromProductpage+"}], to: [{operation: {methods: [GET]}}]}]")
)

var sidecarTCPCases = []decideCase{
	{name: "HTTP: an ALLOW rule with methods matches GET", policies: allowGets, req: get("/"), want: Yes},
	{name: "TCP: an ALLOW rule with methods never matches", policies: allowGets, req: tcp(get("/")), want: No,
		reason: "no ALLOW rule matches"},
	{name: "TCP: an ALLOW rule with paths never matches", policies: allowTo(`{paths: ["/api"]}`), req: tcp(get("/api")), want: No},
	{name: "TCP: an ALLOW rule with requestPrincipals never matches", policies: allowFrom(`{requestPrincipals: ["*"]}`), req: tcp(withToken(get("/"), "a/b")), want: No},
	{name: "TCP: an ALLOW rule with a header condition never matches", policies: allowWhen("{key: 'request.headers[x-user]', values: [alice]}"), req: tcp(get("/")), want: No},
	{name: "TCP: an ALLOW rule with ports matches", policies: allowTo(`{ports: ["9080"]}`), req: tcp(get("/")), want: Yes},
	{name: "TCP: remoteIpBlocks are L4 for Envoy", policies: allowFrom("{remoteIpBlocks: [10.0.0.0/8]}"), req: tcp(get("/")), want: Maybe},
	{name: "TCP: connection.sni is L4 for Envoy", policies: allowWhen("{key: connection.sni, values: [reviews]}"), req: tcp(get("/")), want: Maybe},
	{name: "TCP: source.serviceAccount is L4 for Envoy", policies: allowWhen("{key: source.serviceAccount, values: [shop/productpage]}"), req: tcp(get("/")), want: Yes},
	{name: "HTTP: a DENY rule with methods denies POST only", policies: denyPosts, req: get("/"), want: Yes},
	{name: "HTTP: a DENY rule with methods, any method", policies: denyPosts, req: Request{Principal: productpage}, want: Maybe},
	{name: "TCP: a DENY rule is enforced without its methods", policies: denyPosts, req: tcp(get("/")), want: No, reason: "denied by DENY shop/deny rule 0"},
	{name: "TCP: a DENY rule without its methods still needs its source", policies: denyPosts, req: tcp(Request{Principal: stranger}), want: Yes},
	{name: "TCP: a DENY rule of requestPrincipals only denies every connection", policies: shop("deny", "DENY", `[{from: [{source: {requestPrincipals: ["*"]}}]}]`), req: tcp(Request{}), want: No},
	{name: "TCP: a DENY rule is enforced without its header condition", policies: shop("deny", "DENY", "[{when: [{key: 'request.headers[x-user]', values: [alice]}]}]"), req: tcp(get("/")), want: No},
	{name: "TCP at a waypoint: an ALLOW rule with paths never matches", policies: "metadata: {name: allow, namespace: shop}\nspec: {" + targetReviews + `, rules: [{to: [{operation: {paths: ["/api"]}}]}]}`,
		point: reviewsWaypoint, req: tcp(get("/api")), want: No},
	{name: "HTTP at a waypoint: an ALLOW rule with paths matches", policies: "metadata: {name: allow, namespace: shop}\nspec: {" + targetReviews + `, rules: [{to: [{operation: {paths: ["/api"]}}]}]}`,
		point: reviewsWaypoint, req: get("/api"), want: Yes},
}

var ztunnelCases = []decideCase{
	{name: "an ALLOW rule of principals", policies: allowFrom(fromProductpage), point: reviewsZtunnel, req: Request{Principal: productpage}, want: Yes},
	{name: "an ALLOW rule with methods never matches, even for an HTTP request", policies: allowGets, point: reviewsZtunnel, req: get("/"), want: No},
	{name: "an ALLOW rule with requestPrincipals never matches", policies: allowFrom(`{requestPrincipals: ["*"]}`), point: reviewsZtunnel, req: withToken(get("/"), "a/b"), want: No},
	{name: "an ALLOW rule with remoteIpBlocks never matches", policies: allowFrom("{remoteIpBlocks: [10.0.0.0/8]}"), point: reviewsZtunnel, req: get("/"), want: No},
	{name: "an ALLOW rule with an L7 condition never matches", policies: allowWhen("{key: connection.sni, values: [reviews]}"), point: reviewsZtunnel, req: get("/"), want: No},
	{name: "an ALLOW rule with an L4 condition", policies: allowWhen(`{key: destination.port, values: ["9080"]}`), point: reviewsZtunnel, req: get("/"), want: Yes},
	{name: "other ALLOW rules still match", policies: shop("allow", "ALLOW", "[{to: [{operation: {methods: [GET]}}]}, {from: [{source: "+fromProductpage+"}]}]"),
		point: reviewsZtunnel, req: Request{Principal: productpage}, want: Yes, reason: "allowed by ALLOW shop/allow rule 1"},
	{name: "an ALLOW policy whose rules all need L7 denies all", policies: allowGets, point: reviewsZtunnel, req: Request{Principal: productpage}, want: No, reason: "no ALLOW rule matches"},
	{name: "a DENY rule is enforced without its methods, on its ports", policies: denyPostsOn9080, point: reviewsZtunnel, req: get("/"), want: No},
	{name: "a DENY rule without its methods keeps its ports", policies: denyPostsOn9080, point: reviewsZtunnel, req: Request{Principal: productpage, Port: 8080}, want: Yes},
	{name: "a DENY operation of methods only is an empty match: never", policies: denyPosts, point: reviewsZtunnel, req: get("/"), want: Yes},
	{name: "a DENY source of requestPrincipals only is an empty match: never", policies: shop("deny", "DENY", `[{from: [{source: {requestPrincipals: ["*"]}}]}]`), point: reviewsZtunnel, req: Request{}, want: Yes},
	{name: "a DENY rule with an L7 condition never matches", policies: shop("deny", "DENY", "[{when: [{key: 'request.headers[x-user]', values: [alice]}]}]"), point: reviewsZtunnel, req: get("/"), want: Yes},
	{name: "a DENY rule keeps its other operations", policies: shop("deny", "DENY", `[{to: [{operation: {methods: [POST]}}, {operation: {ports: ["9080"]}}]}]`), point: reviewsZtunnel, req: get("/"), want: No},
	{name: "a DENY of remoteIpBlocks and namespaces denies the namespace", policies: shop("deny", "DENY", "[{from: [{source: {remoteIpBlocks: [10.0.0.0/8], namespaces: [shop]}}]}]"), point: reviewsZtunnel, req: Request{Principal: productpage}, want: No},
	{name: "ztunnel carries no trust domain: only the namespace is checked", policies: allowFrom("{trustDomains: [example.org], namespaces: [shop]}"), point: reviewsZtunnel, req: Request{Principal: productpage}, want: Yes},
	{name: "a source of trust domains only is an empty match", policies: allowFrom("{trustDomains: [cluster.local]}"), point: reviewsZtunnel, req: Request{Principal: productpage}, want: No},
	{name: "the sidecar checks the trust domain", policies: allowFrom("{trustDomains: [example.org], namespaces: [shop]}"), req: Request{Principal: productpage}, want: No},
	{name: "namespaces need mTLS at ztunnel too", policies: allowFrom("{namespaces: [shop]}"), point: reviewsZtunnel, req: Request{}, want: No},
	{name: "notNamespaces match plaintext at ztunnel too", policies: allowFrom("{notNamespaces: [other]}"), point: reviewsZtunnel, req: Request{}, want: Yes},
	{name: "serviceAccounts at ztunnel", policies: allowFrom("{serviceAccounts: [productpage]}"), point: reviewsZtunnel, req: Request{Principal: productpage}, want: Yes},
}

func TestDecideWhereOnlyL4IsSeen(t *testing.T) {
	runDecideCases(t, sidecarTCPCases)
	runDecideCases(t, ztunnelCases)
}

// The namespace match differs: istiod gives Envoy the regex .*/ns/NS/.* over the URI SAN,
// where a '*' may run past the namespace; ztunnel matches the namespace itself.
func TestNamespaceMatchEnvoyAndZtunnel(t *testing.T) {
	a := authorizer(t, allowFrom(`{namespaces: ["*sa"]}`))
	if d := a.Decide(reviewsSidecar, Request{Principal: productpage}); d.Allowed != Yes {
		t.Errorf(`sidecar: namespaces ["*sa"] = %s for %s, want yes (.*/ns/.*sa/.* matches .../ns/shop/sa/...)`, d.Allowed, productpage)
	}
	if d := a.Decide(reviewsZtunnel, Request{Principal: productpage}); d.Allowed != No {
		t.Errorf(`ztunnel: namespaces ["*sa"] = %s for %s, want no (shop does not end in sa)`, d.Allowed, productpage)
	}
}
