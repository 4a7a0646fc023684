package istio

import "testing"

// widerCase compares two sets of policies at one point, for each of some requests.
type widerCase struct {
	name          string
	before, after string // YAML documents
	point         Point  // zero: reviewsSidecar
	reqs          []Request
	want          bool
}

var (
	plaintext       = Request{}
	anyCaller       = Request{Principal: Unknown, RequestPrincipal: Unknown}
	someShopAccount = Request{Principal: "cluster.local/ns/shop/sa/" + Unknown, RequestPrincipal: Unknown}
	everyone        = []Request{{Principal: productpage}, {Principal: stranger}, plaintext, anyCaller, someShopAccount, tcp(anyCaller), get("/"), tcp(get("/"))}

	allowProductpage = allowFrom(fromProductpage)
	allowStranger    = shop("allow-stranger", "ALLOW", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}]}]")
	denyStranger     = shop("deny-stranger", "DENY", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}]}]")
	defaultDeny      = "metadata: {name: default-deny, namespace: shop}\nspec: {}\n---\n"
	allowShop        = allowFrom("{namespaces: [shop]}")
	allowAll         = shop("allow-all", "ALLOW", "[{}]")
)

var widerCases = []widerCase{
	{name: "an ALLOW beside a narrow ALLOW widens", before: allowProductpage, after: allowProductpage + allowStranger,
		reqs: []Request{{Principal: stranger}, anyCaller, tcp(anyCaller)}, want: true},
	{name: "an ALLOW beside a narrow ALLOW, for the callers already allowed", before: allowProductpage, after: allowProductpage + allowStranger,
		reqs: []Request{{Principal: productpage}, plaintext, someShopAccount}, want: false},
	{name: "an ALLOW where no ALLOW applied never widens", before: "", after: allowProductpage, reqs: everyone, want: false},
	{name: "an ALLOW where only a DENY applied never widens", before: denyStranger, after: denyStranger + allowShop, reqs: everyone, want: false},
	{name: "default deny never widens", before: allowProductpage + denyStranger, after: allowProductpage + denyStranger + defaultDeny, reqs: everyone, want: false},
	{name: "default deny where nothing applied never widens", before: "", after: defaultDeny, reqs: everyone, want: false},
	{name: "removing a DENY widens", before: denyStranger, after: "", reqs: []Request{{Principal: stranger}, anyCaller, tcp(anyCaller)}, want: true},
	{name: "removing a DENY, for the callers it never matched", before: denyStranger, after: "", reqs: []Request{{Principal: productpage}, plaintext, someShopAccount}, want: false},
	{name: "removing a DENY beside an ALLOW widens", before: allowShop + shop("deny-productpage", "DENY", "[{from: [{source: "+fromProductpage+"}]}]"), after: allowShop,
		reqs: []Request{{Principal: productpage}, anyCaller, someShopAccount}, want: true},
	{name: "a rule edited under the same name widens", before: allowProductpage, after: allowFrom("{principals: [cluster.local/ns/shop/sa/productpage, cluster.local/ns/other/sa/stranger]}"),
		reqs: []Request{{Principal: stranger}, anyCaller}, want: true},
	{name: "any edit of a rule counts as a new rule (Wider does not compare rule bodies)", before: allowShop, after: allowProductpage,
		reqs: []Request{anyCaller}, want: true},
	{name: "identical sets never widen", before: allowProductpage + denyStranger + allowShop, after: allowProductpage + denyStranger + allowShop, reqs: everyone, want: false},
	{name: "Maybe/Maybe: a DENY added beside the same ALLOW", before: allowShop, after: allowShop + denyStranger, reqs: []Request{anyCaller, someShopAccount}, want: false},
	{name: "Maybe/Maybe: ALLOW policies added where only a DENY applied", before: denyStranger, after: denyStranger + allowShop, reqs: []Request{anyCaller}, want: false},
	{name: "Maybe/Maybe: the only ALLOW replaced by a DENY", before: allowShop, after: denyStranger, reqs: []Request{anyCaller}, want: true},
	{name: "Maybe/Maybe: one DENY swapped for another", before: allowAll + denyStranger, after: allowAll + shop("deny-productpage", "DENY", "[{from: [{source: "+fromProductpage+"}]}]"),
		reqs: []Request{anyCaller}, want: true},
	{name: "a CUSTOM policy removed widens", before: shop("ext", "CUSTOM", "[{}]"), after: "", reqs: []Request{{Principal: productpage}, anyCaller}, want: true},
	{name: "a CUSTOM policy added never widens", before: "", after: shop("ext", "CUSTOM", "[{}]"), reqs: everyone, want: false},
}

// The same change judged at different points.
var widerByPointCases = []widerCase{
	{name: "sidecar: an ALLOW with methods beside a narrow ALLOW widens", before: allowProductpage,
		after: allowProductpage + shop("allow-gets", "ALLOW", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}], to: [{operation: {methods: [GET]}}]}]"),
		reqs:  []Request{{Principal: stranger, Method: "GET"}, anyCaller}, want: true},
	{name: "ztunnel: an ALLOW with methods never matches there", before: allowProductpage, point: reviewsZtunnel,
		after: allowProductpage + shop("allow-gets", "ALLOW", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}], to: [{operation: {methods: [GET]}}]}]"),
		reqs:  everyone, want: false},
	{name: "ztunnel: a DENY whose operation is L7 only protects nothing there", before: allowAll + denyStranger, point: reviewsZtunnel,
		after: allowAll + shop("deny-stranger", "DENY", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}], to: [{operation: {methods: [POST]}}]}]"),
		reqs:  []Request{{Principal: stranger}, anyCaller}, want: true},
	{name: "sidecar over TCP: the same DENY is enforced without its methods", before: allowAll + denyStranger,
		after: allowAll + shop("deny-stranger", "DENY", "[{from: [{source: {principals: [cluster.local/ns/other/sa/stranger]}}], to: [{operation: {methods: [POST]}}]}]"),
		reqs:  []Request{tcp(Request{Principal: stranger})}, want: false},
	{name: "waypoint: an ALLOW on the Service beside a narrow one widens", point: reviewsWaypoint,
		before: "metadata: {name: reviews, namespace: shop}\nspec: {" + targetReviews + ", rules: [{from: [{source: " + fromProductpage + "}]}]}",
		after: "metadata: {name: reviews, namespace: shop}\nspec: {" + targetReviews + ", rules: [{from: [{source: " + fromProductpage + "}]}]}\n---\n" +
			"metadata: {name: more, namespace: shop}\nspec: {" + targetWaypoint + ", rules: [{}]}",
		reqs: []Request{{Principal: stranger}, plaintext, anyCaller}, want: true},
}

func TestWider(t *testing.T) {
	for _, tc := range append(widerCases, widerByPointCases...) {
		t.Run(tc.name, func(t *testing.T) {
			point := tc.point
			if point.At == "" {
				point = reviewsSidecar
			}
			before, after := authorizer(t, tc.before), authorizer(t, tc.after)
			for _, r := range tc.reqs {
				b, a := before.Decide(point, r), after.Decide(point, r)
				if got := Wider(b, a); got != tc.want {
					t.Errorf("%+v: Wider = %t, want %t\n  before: %s (%s)\n  after:  %s (%s)", r, got, tc.want, b.Allowed, b.Reason, a.Allowed, a.Reason)
				}
			}
		})
	}
}

func TestWiderThanItselfNever(t *testing.T) {
	sets := []string{"", allowProductpage, denyStranger, allowShop + denyStranger, defaultDeny, shop("ext", "CUSTOM", "[{}]") + allowShop}
	for _, set := range sets {
		a := authorizer(t, set)
		for _, point := range []Point{reviewsSidecar, reviewsZtunnel, reviewsWaypoint, edgeGateway} {
			for _, r := range everyone {
				if d := a.Decide(point, r); Wider(d, d) {
					t.Errorf("Wider(d, d) at %s for %+v under %q: %s", point, r, set, d.Reason)
				}
			}
		}
	}
}

func TestWiderOnDecisions(t *testing.T) {
	yes, no, maybe := Decision{Allowed: Yes}, Decision{Allowed: No}, Decision{Allowed: Maybe}
	for _, tc := range []struct {
		name          string
		before, after Decision
		want          bool
	}{
		{"no to yes", no, yes, true},
		{"no to some", no, maybe, true},
		{"yes to no", yes, no, false},
		{"some to no", maybe, no, false},
		{"yes to yes", yes, yes, false},
		{"yes to some", yes, maybe, false},
	} {
		if got := Wider(tc.before, tc.after); got != tc.want {
			t.Errorf("%s: Wider = %t, want %t", tc.name, got, tc.want)
		}
	}
}
