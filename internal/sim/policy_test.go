package sim

import (
	"testing"
	"time"

	securityapi "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var details = &Workload{Namespace: "default", Name: "details-v1", App: "details", Version: "v1", Labels: map[string]string{"app": "details", "version": "v1"}, Sidecar: true}

func policy(ns, name string, action securityapi.AuthorizationPolicy_Action, selector map[string]string, rules ...*securityapi.Rule) *securityv1.AuthorizationPolicy {
	ap := &securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	ap.Spec.Action = action
	ap.Spec.Rules = rules
	if selector != nil {
		ap.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: selector}
	}
	return ap
}

func from(principals, namespaces []string) *securityapi.Rule {
	return &securityapi.Rule{From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: principals, Namespaces: namespaces}}}}
}

func TestAuthorize(t *testing.T) {
	productpage := Call{Principal: "cluster.local/ns/default/sa/bookinfo-productpage", Namespace: "default", Method: "GET", Path: "/details/0", Port: 9080}
	plaintext := Call{Method: "GET", Path: "/details/0", Port: 9080}
	allow, deny, custom := securityapi.AuthorizationPolicy_ALLOW, securityapi.AuthorizationPolicy_DENY, securityapi.AuthorizationPolicy_CUSTOM
	tests := []struct {
		name     string
		policies []*securityv1.AuthorizationPolicy
		call     Call
		want     bool
	}{
		{"no policy allows", nil, productpage, true},
		{"allow-nothing denies", []*securityv1.AuthorizationPolicy{policy("default", "deny-all", allow, nil)}, productpage, false},
		{"empty rule allows all", []*securityv1.AuthorizationPolicy{policy("default", "all", allow, nil, &securityapi.Rule{})}, plaintext, true},
		{"allow by principal", []*securityv1.AuthorizationPolicy{
			policy("default", "deny-all", allow, nil),
			policy("default", "pp", allow, map[string]string{"app": "details"}, from([]string{"cluster.local/ns/default/sa/bookinfo-productpage"}, nil)),
		}, productpage, true},
		{"principal needs mTLS", []*securityv1.AuthorizationPolicy{
			policy("default", "pp", allow, nil, from([]string{"*"}, nil)),
		}, plaintext, false},
		{"namespace rule", []*securityv1.AuthorizationPolicy{policy("default", "ns", allow, nil, from(nil, []string{"default"}))}, productpage, true},
		{"other workload's policy does not apply", []*securityv1.AuthorizationPolicy{policy("default", "r", allow, map[string]string{"app": "ratings"})}, productpage, true},
		{"other namespace's policy does not apply", []*securityv1.AuthorizationPolicy{policy("prod", "x", allow, nil)}, productpage, true},
		{"root namespace policy applies mesh-wide", []*securityv1.AuthorizationPolicy{policy(RootNamespace, "mesh", allow, nil)}, productpage, false},
		{"deny wins over allow", []*securityv1.AuthorizationPolicy{
			policy("default", "all", allow, nil, &securityapi.Rule{}),
			policy("default", "no-admin", deny, nil, &securityapi.Rule{To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Paths: []string{"/details/*"}}}}}),
		}, productpage, false},
		{"deny on another path", []*securityv1.AuthorizationPolicy{
			policy("default", "no-admin", deny, nil, &securityapi.Rule{To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Paths: []string{"/admin"}}}}}),
		}, productpage, true},
		{"method and port", []*securityv1.AuthorizationPolicy{
			policy("default", "get", allow, nil, &securityapi.Rule{To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Methods: []string{"POST"}, Ports: []string{"9080"}}}}}),
		}, productpage, false},
		{"notPrincipals", []*securityv1.AuthorizationPolicy{
			policy("default", "not-pp", deny, nil, &securityapi.Rule{From: []*securityapi.Rule_From{{Source: &securityapi.Source{NotPrincipals: []string{"cluster.local/ns/default/sa/bookinfo-productpage"}}}}}),
		}, productpage, true},
		{"custom is ignored", []*securityv1.AuthorizationPolicy{policy("default", "ext", custom, nil)}, productpage, true},
		{"when on source.namespace", []*securityv1.AuthorizationPolicy{
			policy("default", "when", allow, nil, &securityapi.Rule{When: []*securityapi.Condition{{Key: "source.namespace", Values: []string{"default"}}}}),
		}, productpage, true},
	}
	for _, tt := range tests {
		if got := Authorize(tt.policies, details, tt.call); got != tt.want {
			t.Errorf("%s: Authorize = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func peerAuth(ns, name string, mode securityapi.PeerAuthentication_MutualTLS_Mode, selector map[string]string, age time.Duration) *securityv1.PeerAuthentication {
	pa := &securityv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1e9, 0).Add(-age))}}
	pa.Spec.Mtls = &securityapi.PeerAuthentication_MutualTLS{Mode: mode}
	if selector != nil {
		pa.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: selector}
	}
	return pa
}

func TestEffectiveMTLS(t *testing.T) {
	strict, permissive, disable, unset := securityapi.PeerAuthentication_MutualTLS_STRICT, securityapi.PeerAuthentication_MutualTLS_PERMISSIVE, securityapi.PeerAuthentication_MutualTLS_DISABLE, securityapi.PeerAuthentication_MutualTLS_UNSET
	tests := []struct {
		name string
		pas  []*securityv1.PeerAuthentication
		want MTLSMode
	}{
		{"nothing: permissive", nil, Permissive},
		{"mesh strict", []*securityv1.PeerAuthentication{peerAuth(RootNamespace, "default", strict, nil, 0)}, Strict},
		{"namespace overrides mesh", []*securityv1.PeerAuthentication{peerAuth(RootNamespace, "default", strict, nil, 0), peerAuth("default", "ns", permissive, nil, 0)}, Permissive},
		{"workload overrides namespace", []*securityv1.PeerAuthentication{peerAuth("default", "ns", strict, nil, 0), peerAuth("default", "w", disable, map[string]string{"app": "details"}, 0)}, Disable},
		{"unset inherits", []*securityv1.PeerAuthentication{peerAuth("default", "ns", strict, nil, 0), peerAuth("default", "w", unset, map[string]string{"app": "details"}, 0)}, Strict},
		{"oldest namespace-wide wins", []*securityv1.PeerAuthentication{peerAuth("default", "new", permissive, nil, time.Minute), peerAuth("default", "old", strict, nil, time.Hour)}, Strict},
		{"other namespace ignored", []*securityv1.PeerAuthentication{peerAuth("prod", "ns", strict, nil, 0)}, Permissive},
	}
	for _, tt := range tests {
		if got := EffectiveMTLS(tt.pas, details, 9080); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}
