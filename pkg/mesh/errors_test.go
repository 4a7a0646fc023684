package mesh

import (
	"errors"
	"net/url"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestExplain(t *testing.T) {
	vs := schema.GroupResource{Group: "networking.istio.io", Resource: "virtualservices"}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"forbidden names the verb and the fix",
			apierrors.NewForbidden(vs, "reviews", errors.New(`User "viewer" cannot update resource "virtualservices"`)),
			[]string{`virtualservices.networking.istio.io "reviews" is forbidden`, `User "viewer" cannot update`, "RBAC"}},
		{"unauthorized", apierrors.NewUnauthorized("bad token"), []string{"401 Unauthorized", "--kubeconfig"}},
		{"connection refused names the server",
			&url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api?timeout=32s", Err: syscall.ECONNREFUSED},
			[]string{"cannot reach the API server at https://10.0.0.1:6443", "connection refused"}},
		{"not found passes through", apierrors.NewNotFound(vs, "reviews"), []string{`virtualservices.networking.istio.io "reviews" not found`}},
		{"plain errors pass through", errors.New("reviews: subset v3 not found"), []string{"reviews: subset v3 not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Explain(tt.err).Error()
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("Explain(%v) = %q, want it to contain %q", tt.err, got, want)
				}
			}
		})
	}
	if Explain(nil) != nil {
		t.Error("Explain(nil) != nil")
	}
}
