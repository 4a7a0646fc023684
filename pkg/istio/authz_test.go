package istio

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Callers, as Istio names them (TRUSTDOMAIN/ns/NS/sa/SA).
const (
	productpage = "cluster.local/ns/shop/sa/productpage"
	stranger    = "cluster.local/ns/other/sa/stranger"
	testRoot    = "istio-system"
)

// reviewsSidecar is the default point of the tables: the sidecar of reviews in shop.
var reviewsSidecar = Point{At: AtSidecar, Namespace: "shop", Labels: map[string]string{"app": "reviews"}}

// decideCase is one request at one point under a set of policies.
type decideCase struct {
	name     string
	policies string // YAML documents separated by "---"
	point    Point  // zero: reviewsSidecar
	req      Request
	want     Tri
	reason   string // a part of Decision.Reason ("" not checked)
}

// policiesYAML reads AuthorizationPolicies from YAML documents (metadata and spec).
func policiesYAML(t testing.TB, docs string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("policy %q: %v", doc, err)
		}
		obj["apiVersion"], obj["kind"] = "security.istio.io/v1", "AuthorizationPolicy"
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out
}

// shop is one namespace-wide policy of shop: its action and its rules (YAML flow).
func shop(name, action, rules string) string {
	return fmt.Sprintf("metadata: {name: %s, namespace: shop}\nspec: {action: %s, rules: %s}\n---\n", name, action, rules)
}

// allowFrom is an ALLOW policy of shop with one rule whose source is source (YAML flow).
func allowFrom(source string) string {
	return shop("allow", "ALLOW", "[{from: [{source: "+source+"}]}]")
}

func authorizer(t testing.TB, docs string) Authorizer {
	return Authorizer{Policies: policiesYAML(t, docs), RootNamespace: testRoot}
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			point := tc.point
			if point.At == "" {
				point = reviewsSidecar
			}
			d := authorizer(t, tc.policies).Decide(point, tc.req)
			if d.Allowed != tc.want {
				t.Errorf("Allowed = %s, want %s (%s)", d.Allowed, tc.want, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("Reason = %q, want it to say %q", d.Reason, tc.reason)
			}
		})
	}
}

// Actions and their order: CUSTOM aside, DENY first, then ALLOW; no ALLOW policy allows all.
var actionCases = []decideCase{
	{name: "no policy allows", req: Request{Principal: productpage}, want: Yes, reason: "no ALLOW policy applies"},
	{name: "ALLOW without rules (spec {}) denies all", policies: "metadata: {name: deny-all, namespace: shop}\nspec: {}",
		req: Request{Principal: productpage}, want: No, reason: "no ALLOW rule matches (ALLOW policies: shop/deny-all)"},
	{name: "ALLOW with rules: [] denies all", policies: shop("none", "ALLOW", "[]"), req: Request{Principal: productpage}, want: No},
	{name: "ALLOW rules: [{}] allows all", policies: shop("all", "ALLOW", "[{}]"), req: Request{}, want: Yes,
		reason: "allowed by ALLOW shop/all rule 0"},
	{name: "DENY takes precedence over ALLOW", policies: shop("all", "ALLOW", "[{}]") + shop("none", "DENY", "[{}]"),
		req: Request{Principal: productpage}, want: No, reason: "denied by DENY shop/none rule 0"},
	{name: "DENY without rules denies nothing", policies: "metadata: {name: nothing, namespace: shop}\nspec: {action: DENY}",
		req: Request{Principal: productpage}, want: Yes},
	{name: "DENY with rules: [] denies nothing", policies: shop("nothing", "DENY", "[]"), req: Request{}, want: Yes},
	{name: "CUSTOM is left to its authorizer", policies: shop("ext", "CUSTOM", "[{}]"), req: Request{}, want: Yes},
	{name: "AUDIT decides nothing", policies: shop("audit", "AUDIT", "[{}]"), req: Request{}, want: Yes},
	{name: "an unknown action decides nothing", policies: shop("odd", "REJECT", "[{}]"), req: Request{}, want: Yes},
	{name: "an ALLOW matching is not enough against a DENY matching too",
		policies: allowFrom("{principals: [cluster.local/ns/shop/*]}") + shop("deny", "DENY", "[{from: [{source: {principals: [cluster.local/ns/shop/sa/productpage]}}]}]"),
		req:      Request{Principal: productpage}, want: No, reason: "denied by DENY shop/deny rule 0"},
	{name: "the first matching rule is named", policies: shop("allow", "ALLOW", "[{from: [{source: {namespaces: [other]}}]}, {from: [{source: {namespaces: [shop]}}]}]"),
		req: Request{Principal: productpage}, want: Yes, reason: "allowed by ALLOW shop/allow rule 1"},
	{name: "the DENY rule that matches for sure is named, not one that may",
		policies: shop("deny", "DENY", `[{from: [{source: {ipBlocks: [10.0.0.0/8]}}]}, {from: [{source: {namespaces: [shop]}}]}]`),
		req:      Request{Principal: productpage}, want: No, reason: "denied by DENY shop/deny rule 1"},
	{name: "a null rule is skipped, as istiod does", policies: shop("allow", "ALLOW", "[null]"), req: Request{Principal: productpage}, want: No},
}

var dryRunCases = []decideCase{
	{name: `dry-run "true" DENY is not enforced`, policies: dryRun("true", "DENY"), req: Request{}, want: Yes},
	{name: `dry-run "true" ALLOW is not enforced`, policies: dryRun("true", "ALLOW"), req: Request{}, want: Yes, reason: "no ALLOW policy applies"},
	{name: `dry-run "True" (strconv.ParseBool) is not enforced`, policies: dryRun("True", "DENY"), req: Request{}, want: Yes},
	{name: `dry-run "1" is not enforced`, policies: dryRun("1", "DENY"), req: Request{}, want: Yes},
	{name: `dry-run "false" is enforced`, policies: dryRun("false", "DENY"), req: Request{}, want: No},
	{name: "an unreadable dry-run is enforced", policies: dryRun("yes please", "DENY"), req: Request{}, want: No},
}

func dryRun(value, action string) string {
	return fmt.Sprintf("metadata: {name: trial, namespace: shop, annotations: {istio.io/dry-run: %q}}\nspec: {action: %s, rules: [{}]}", value, action)
}

func TestDecideActions(t *testing.T) {
	runDecideCases(t, actionCases)
	runDecideCases(t, dryRunCases)
}

func TestDecideListsCustomPolicies(t *testing.T) {
	a := authorizer(t, shop("ext", "CUSTOM", "[{}]")+shop("deny", "DENY", "[{from: [{source: {namespaces: [other]}}]}]"))
	d := a.Decide(reviewsSidecar, Request{Principal: productpage})
	if !slices.Equal(d.Custom, []string{"shop/ext"}) || d.Allowed != Yes {
		t.Errorf("Custom = %v, Allowed = %s; want [shop/ext], yes", d.Custom, d.Allowed)
	}
	if d = a.Decide(Point{At: AtZtunnel, Namespace: "shop", Labels: reviewsSidecar.Labels}, Request{Principal: productpage}); len(d.Custom) != 0 {
		t.Errorf("at ztunnel Custom = %v: istiod sends ztunnel no CUSTOM policy", d.Custom)
	}
}

// Identities: principals, namespaces, service accounts and trust domains need mTLS.
var identityCases = []decideCase{
	{name: "principals exact", policies: allowFrom("{principals: [cluster.local/ns/shop/sa/productpage]}"), req: Request{Principal: productpage}, want: Yes},
	{name: "principals exact, another caller", policies: allowFrom("{principals: [cluster.local/ns/shop/sa/productpage]}"), req: Request{Principal: stranger}, want: No},
	{name: "principals prefix", policies: allowFrom("{principals: [cluster.local/ns/shop/*]}"), req: Request{Principal: productpage}, want: Yes},
	{name: "principals prefix, another namespace", policies: allowFrom("{principals: [cluster.local/ns/shop/*]}"), req: Request{Principal: stranger}, want: No},
	{name: "principals suffix", policies: allowFrom(`{principals: ["*/sa/productpage"]}`), req: Request{Principal: productpage}, want: Yes},
	{name: "principals * is any identity", policies: allowFrom(`{principals: ["*"]}`), req: Request{Principal: stranger}, want: Yes},
	{name: "principals * is not plaintext", policies: allowFrom(`{principals: ["*"]}`), req: Request{}, want: No},
	{name: "notPrincipals excludes", policies: allowFrom("{notPrincipals: [cluster.local/ns/other/sa/stranger]}"), req: Request{Principal: stranger}, want: No},
	{name: "notPrincipals admits the others", policies: allowFrom("{notPrincipals: [cluster.local/ns/other/sa/stranger]}"), req: Request{Principal: productpage}, want: Yes},
	{name: "notPrincipals admits plaintext", policies: allowFrom("{notPrincipals: [cluster.local/ns/other/sa/stranger]}"), req: Request{}, want: Yes},
	{name: "notPrincipals * is plaintext only", policies: allowFrom(`{notPrincipals: ["*"]}`), req: Request{Principal: productpage}, want: No},
	{name: "namespaces", policies: allowFrom("{namespaces: [shop]}"), req: Request{Principal: productpage}, want: Yes},
	{name: "namespaces, another", policies: allowFrom("{namespaces: [shop]}"), req: Request{Principal: stranger}, want: No},
	{name: "namespaces need mTLS", policies: allowFrom("{namespaces: [shop]}"), req: Request{}, want: No},
	{name: `namespaces "*" need mTLS`, policies: allowFrom(`{namespaces: ["*"]}`), req: Request{}, want: No},
	{name: "namespaces prefix", policies: allowFrom(`{namespaces: ["sh*"]}`), req: Request{Principal: productpage}, want: Yes},
	{name: "notNamespaces match plaintext", policies: allowFrom("{notNamespaces: [other]}"), req: Request{}, want: Yes},
	{name: "notNamespaces exclude", policies: allowFrom("{notNamespaces: [other]}"), req: Request{Principal: stranger}, want: No},
	{name: "serviceAccounts in the policy's namespace", policies: allowFrom("{serviceAccounts: [productpage]}"), req: Request{Principal: productpage}, want: Yes},
	{name: "serviceAccounts NS/SA", policies: allowFrom("{serviceAccounts: [other/stranger]}"), req: Request{Principal: stranger}, want: Yes},
	{name: "serviceAccounts are not wildcards", policies: allowFrom("{serviceAccounts: [productpage]}"), req: Request{Principal: stranger}, want: No},
	{name: "serviceAccounts need mTLS", policies: allowFrom("{serviceAccounts: [productpage]}"), req: Request{}, want: No},
	{name: "notServiceAccounts exclude", policies: allowFrom("{notServiceAccounts: [other/stranger]}"), req: Request{Principal: stranger}, want: No},
	{name: "trustDomains", policies: allowFrom("{trustDomains: [cluster.local]}"), req: Request{Principal: productpage}, want: Yes},
	{name: "trustDomains, another", policies: allowFrom("{trustDomains: [example.org]}"), req: Request{Principal: productpage}, want: No},
	{name: "trustDomains prefix", policies: allowFrom(`{trustDomains: ["cluster.*"]}`), req: Request{Principal: productpage}, want: Yes},
	{name: "the fields of one source are ANDed", policies: allowFrom("{namespaces: [shop], notPrincipals: [cluster.local/ns/shop/sa/productpage]}"), req: Request{Principal: productpage}, want: No},
	{name: "the sources of a rule are ORed", policies: shop("allow", "ALLOW", "[{from: [{source: {namespaces: [other]}}, {source: {namespaces: [shop]}}]}]"), req: Request{Principal: productpage}, want: Yes},
}

// Partly unknown callers: some identity, or some service account of a known namespace.
var unknownCallerCases = []decideCase{
	{name: "an unknown identity matches principals *", policies: allowFrom(`{principals: ["*"]}`), req: Request{Principal: Unknown}, want: Yes},
	{name: "an unknown identity may be a named one", policies: allowFrom("{principals: [cluster.local/ns/shop/sa/productpage]}"), req: Request{Principal: Unknown}, want: Maybe,
		reason: "allowed only for the requests ALLOW shop/allow rule 0 matches"},
	{name: "an unknown identity may be of a namespace", policies: allowFrom("{namespaces: [shop]}"), req: Request{Principal: Unknown}, want: Maybe},
	{name: "a DENY on a named caller leaves some unknown ones", policies: shop("deny", "DENY", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}]}]"),
		req: Request{Principal: Unknown}, want: Maybe, reason: "allowed unless DENY shop/deny rule 0 matches"},
	{name: "DENY and ALLOW both for some", policies: shop("deny", "DENY", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}]}]") + allowFrom(`{namespaces: ["*"]}`),
		req: Request{Principal: Unknown}, want: Maybe, reason: "allowed for some requests: DENY shop/deny rule 0; ALLOW shop/allow rule 0"},
	{name: "some account of shop may be productpage", policies: allowFrom("{principals: [cluster.local/ns/shop/sa/productpage]}"), req: Request{Principal: "cluster.local/ns/shop/sa/" + Unknown}, want: Maybe},
	{name: "some account of shop is not of other", policies: allowFrom("{principals: [cluster.local/ns/other/sa/stranger]}"), req: Request{Principal: "cluster.local/ns/shop/sa/" + Unknown}, want: No},
	{name: "some account of shop is in shop", policies: allowFrom("{namespaces: [shop]}"), req: Request{Principal: "cluster.local/ns/shop/sa/" + Unknown}, want: Yes},
	{name: "some account of shop matches a shop prefix", policies: allowFrom("{principals: [cluster.local/ns/shop/*]}"), req: Request{Principal: "cluster.local/ns/shop/sa/" + Unknown}, want: Yes},
	{name: "some account of shop may be a service account", policies: allowFrom("{serviceAccounts: [productpage]}"), req: Request{Principal: "cluster.local/ns/shop/sa/" + Unknown}, want: Maybe},
	{name: "some account of shop is not other's", policies: allowFrom("{serviceAccounts: [other/stranger]}"), req: Request{Principal: "cluster.local/ns/shop/sa/" + Unknown}, want: No},
}

func TestDecideIdentities(t *testing.T) {
	runDecideCases(t, identityCases)
	runDecideCases(t, unknownCallerCases)
}
