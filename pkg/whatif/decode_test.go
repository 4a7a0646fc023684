package whatif

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeTakesPoliciesOnlyAndPutsThemInTheirNamespace(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		explicit  bool
		want      []string // namespace/name of each object
		wantError string
	}{
		{name: "documents, empty ones skipped, namespace given or -n's",
			in:   "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n---\n---\napiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: b, namespace: other}\nspec: {mtls: {mode: STRICT}}\n",
			want: []string{"shop/a", "other/b"}},
		{name: "a List",
			in:   `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "a"}}]}`,
			want: []string{"shop/a"}},
		{name: "another namespace than -n's, as kubectl apply refuses it",
			in: "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: other}\n", explicit: true,
			wantError: `p.yaml, document 1: AuthorizationPolicy "a" is in namespace "other", not -n "shop": drop -n, or the object's namespace`},
		{name: "a kind what-if does not replay",
			in:        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\n",
			wantError: `p.yaml, document 1: VirtualService "reviews": what-if replays AuthorizationPolicies and PeerAuthentications only`},
		{name: "an action Istio does not know",
			in:        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {action: ALLOWED}\n",
			wantError: `p.yaml, document 1: AuthorizationPolicy shop/a: action "ALLOWED": use ALLOW, DENY, CUSTOM or AUDIT`},
		{name: "a mode Istio does not know, on a port",
			in:        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: a}\nspec: {selector: {matchLabels: {app: x}}, portLevelMtls: {\"80\": {mode: strict}}}\n",
			wantError: `p.yaml, document 1: PeerAuthentication shop/a: port 80: mode "strict": use STRICT, PERMISSIVE, DISABLE or UNSET`},
		{name: "no name",
			in:        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {}\n",
			wantError: "p.yaml, document 1: a AuthorizationPolicy without metadata.name"},
		{name: "not YAML, said without the parser's package",
			in:        "apiVersion: security.istio.io/v1\nkind: [AuthorizationPolicy\n",
			wantError: "p.yaml, document 1: not valid YAML: line 2: did not find expected ',' or ']'"},
		{name: "nothing", in: "# nothing\n", wantError: "p.yaml holds no object: give AuthorizationPolicies or PeerAuthentications"},
		{name: "no kind", in: "apiVersion: security.istio.io/v1\nmetadata: {name: a}\n",
			wantError: "p.yaml, document 1: not a Kubernetes object: each needs apiVersion, kind and metadata.name"},
		{name: "a list of strings, not an object", in: "- a\n- b\n",
			wantError: "p.yaml, document 1: not a Kubernetes object: each needs apiVersion, kind and metadata.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode("p.yaml", []byte(tc.in), "shop", tc.explicit)
			if tc.wantError != "" {
				if err == nil || err.Error() != tc.wantError {
					t.Fatalf("error %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, obj := range got {
				names = append(names, obj.GetNamespace()+"/"+obj.GetName())
			}
			if strings.Join(names, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %q, want %q", names, tc.want)
			}
		})
	}
}

func TestParseDeleteSpellsKindsAsKubectlDoes(t *testing.T) {
	for arg, want := range map[string]Ref{
		"authorizationpolicy/allow-legacy":                     {KindAuthorizationPolicy, "shop", "allow-legacy"},
		"AuthorizationPolicies.security.istio.io/allow-legacy": {KindAuthorizationPolicy, "shop", "allow-legacy"},
		"pa/default": {KindPeerAuthentication, "shop", "default"},
	} {
		if got, err := ParseDelete(arg, "shop"); err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", arg, got, err, want)
		}
	}
	for _, arg := range []string{"allow-legacy", "virtualservice/reviews", "ap/", "ap/a/b"} {
		if _, err := ParseDelete(arg, "shop"); err == nil || !strings.Contains(err.Error(), "--delete "+`"`+arg+`"`) {
			t.Errorf("%s: error %v, want one naming the flag and the value", arg, err)
		}
	}
}

// A replaced object keeps its creation time (the oldest namespace-wide PeerAuthentication
// decides); a created one is the newest.
func TestWithReplacesInPlaceAndCreatesNewest(t *testing.T) {
	_, p := loadCluster(t, "cluster")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	after, steps, err := p.With(Edit{Apply: objects(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: new, namespace: shop}
`)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.PeerAuthentications) != 1 || !after.PeerAuthentications[0].GetCreationTimestamp().Time.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("replaced PeerAuthentications: %v", after.PeerAuthentications)
	}
	if created := after.AuthorizationPolicies[len(after.AuthorizationPolicies)-1]; created.GetName() != "new" || !created.GetCreationTimestamp().Time.Equal(now) {
		t.Errorf("created %s at %v, want new at %v", created.GetName(), created.GetCreationTimestamp(), now)
	}
	if len(steps) != 2 || steps[0].Action != "replace" || steps[1].Action != "create" {
		t.Errorf("steps %v", steps)
	}
	if p.PeerAuthentications[0].GetCreationTimestamp().Year() != 2024 || len(p.AuthorizationPolicies) != 1 {
		t.Errorf("With changed the policies it was given")
	}
}
