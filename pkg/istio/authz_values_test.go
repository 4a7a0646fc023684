package istio

import "testing"

// The value matchers on their own: Istio's string match, on values known, unknown, or known
// but for one segment.
func TestValueMatchers(t *testing.T) {
	someOfShop := "cluster.local/ns/shop/sa/" + Unknown
	for _, tc := range []struct {
		name           string
		match          func(pattern, value string) Tri
		pattern, value string
		want           Tri
	}{
		{"exact", matchString, "a", "a", Yes},
		{"prefix", matchString, "ab*", "abc", Yes},
		{"suffix", matchString, "*bc", "abc", Yes},
		{"* is not empty", matchString, "*", "", No},
		{"a * inside is literal", matchString, "a*c", "abc", No},
		{"unknown, *", matchString, "*", Unknown, Yes},
		{"unknown, exact", matchString, "a", Unknown, Maybe},
		{"one segment unknown, that segment", matchString, productpage, someOfShop, Maybe},
		{"one segment unknown, two segments", matchString, productpage + "/x", someOfShop, No},
		{"one segment unknown, another namespace", matchString, stranger, someOfShop, No},
		{"one segment unknown, a prefix of the known part", matchString, "cluster.local/ns/shop/*", someOfShop, Yes},
		{"one segment unknown, a longer prefix", matchString, "cluster.local/ns/shop/sa/pro*", someOfShop, Maybe},
		{"one segment unknown, another prefix", matchString, "cluster.local/ns/other/*", someOfShop, No},
		{"one segment unknown, a suffix", matchString, "*/sa/productpage", someOfShop, Maybe},
		{"token exact", matchToken, "iss/sub", "iss/sub", Yes},
		{"token of another issuer", matchToken, "iss/sub", "other/sub", No},
		{"token issuer prefix", matchToken, "iss*", "issuer/sub", Yes},
		{"token patterns split at their last / too (istiod)", matchToken, "https://iss*", "https://issuer/sub", No},
		{"token subject prefix", matchToken, "iss/su*", "iss/sub", Yes},
		{"token issuer suffix", matchToken, "*example/sub", "https://example/sub", Yes},
		{"token issuer without subject", matchToken, "iss", "iss/sub", No},
		{"trust domain", matchTrustDomain, "cluster.local", productpage, Yes},
		{"trust domain is not a prefix", matchTrustDomain, "cluster", productpage, No},
		{"trust domain glob stays in the domain", matchTrustDomain, "c*l", productpage, Yes},
		{"trust domain *", matchTrustDomain, "*", "odd", Yes},
		{"envoy namespace", matchNamespaceEnvoy, "shop", productpage, Yes},
		{"envoy namespace glob", matchNamespaceEnvoy, "s*p", productpage, Yes},
		{"envoy namespace, not a prefix", matchNamespaceEnvoy, "sho", productpage, No},
		{"envoy namespace, unknown account", matchNamespaceEnvoy, "shop", someOfShop, Yes},
		{"envoy namespace glob may reach the unknown account", matchNamespaceEnvoy, "*sa", someOfShop, Maybe},
		{"ztunnel namespace", matchNamespaceZtunnel, "*sa", productpage, No},
		{"path without query", matchPath, "/a", "/a?b=c", Yes},
		{"path without fragment", matchPath, "/a", "/a#top", Yes},
		{"path template {**} may be empty", matchPath, "/a/{**}", "/a/", Yes},
		{"path template {**} needs its slash", matchPath, "/a/{**}", "/a", No},
		{"port", func(p, v string) Tri { return matchPort(p, 9080) }, "9080", "", Yes},
		{"port that is no number", func(p, v string) Tri { return matchPort(p, 9080) }, "90*", "", No},
		{"header present, empty", func(p, v string) Tri { return matchHeader(p, v, true) }, "*", "", Yes},
		{"header absent", func(p, v string) Tri { return matchHeader(p, v, false) }, "*", "", No},
	} {
		if got := tc.match(tc.pattern, tc.value); got != tc.want {
			t.Errorf("%s: %q against %q = %s, want %s", tc.name, tc.pattern, tc.value, got, tc.want)
		}
	}
}
