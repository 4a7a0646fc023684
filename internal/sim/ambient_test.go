package sim

import (
	"testing"

	securityapi "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var ambientReviews = &Workload{Namespace: "amb", Name: "reviews-v1", App: "reviews", Version: "v1", Labels: map[string]string{"app": "reviews", "version": "v1"}, Ambient: true}

func withMethods(r *securityapi.Rule, methods ...string) *securityapi.Rule {
	r.To = []*securityapi.Rule_To{{Operation: &securityapi.Operation{Methods: methods}}}
	return r
}

func targeting(ap *securityv1.AuthorizationPolicy, kind, name string) *securityv1.AuthorizationPolicy {
	ap.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Kind: kind, Name: name}}
	return ap
}

// ztunnel reads a policy at L4: an ALLOW rule that needs HTTP never matches, a DENY rule is
// enforced without its HTTP parts; policies that target a Service are the waypoint's.
func TestAuthorizeL4(t *testing.T) {
	allow, deny := securityapi.AuthorizationPolicy_ALLOW, securityapi.AuthorizationPolicy_DENY
	caller := Call{Principal: "cluster.local/ns/amb/sa/productpage", Namespace: "amb", Method: "GET", Port: 9080}
	tests := []struct {
		name     string
		policies []*securityv1.AuthorizationPolicy
		want     bool
	}{
		{"allow by principal", []*securityv1.AuthorizationPolicy{policy("amb", "a", allow, nil, from([]string{caller.Principal}, nil))}, true},
		{"allow that needs HTTP never matches", []*securityv1.AuthorizationPolicy{policy("amb", "a", allow, nil, withMethods(from([]string{caller.Principal}, nil), "GET"))}, false},
		{"deny that needs HTTP denies on its L4 part", []*securityv1.AuthorizationPolicy{policy("amb", "d", deny, nil, withMethods(from([]string{caller.Principal}, nil), "DELETE"))}, false},
		{"a policy targeting the Service is not ztunnel's", []*securityv1.AuthorizationPolicy{targeting(policy("amb", "w", allow, nil), "Service", "reviews")}, true},
	}
	for _, tt := range tests {
		if got := AuthorizeL4(tt.policies, ambientReviews, caller); got != tt.want {
			t.Errorf("%s: %t, want %t", tt.name, got, tt.want)
		}
	}
}

// A waypoint enforces the policies that target the Service, on the whole request, and ignores
// selector policies.
func TestAuthorizeAtWaypoint(t *testing.T) {
	allow := securityapi.AuthorizationPolicy_ALLOW
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "amb"}}
	waypoint := &Workload{Namespace: "amb", Name: "waypoint", Labels: map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint"}, Waypoint: true}
	get := Call{Principal: "cluster.local/ns/amb/sa/productpage", Namespace: "amb", Method: "GET", Port: 9080}
	onlyGet := targeting(policy("amb", "w", allow, nil, withMethods(from([]string{get.Principal}, nil), "GET")), "Service", "reviews")
	if !AuthorizeAtWaypoint([]*securityv1.AuthorizationPolicy{onlyGet}, svc, waypoint, get) {
		t.Error("GET from productpage denied")
	}
	del := get
	del.Method = "DELETE"
	if AuthorizeAtWaypoint([]*securityv1.AuthorizationPolicy{onlyGet}, svc, waypoint, del) {
		t.Error("DELETE allowed by a GET-only policy")
	}
	selectorDenyAll := policy("amb", "deny-all", allow, map[string]string{"app": "reviews"})
	if !AuthorizeAtWaypoint([]*securityv1.AuthorizationPolicy{selectorDenyAll}, svc, waypoint, get) {
		t.Error("a selector policy applied at the waypoint")
	}
}
