package mesh

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
)

func fakeDiscovery(served ...*metav1.APIResourceList) *fakediscovery.FakeDiscovery {
	return &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: served}}
}

var istioNetworking = &metav1.APIResourceList{
	GroupVersion: "networking.istio.io/v1",
	APIResources: []metav1.APIResource{{Name: "virtualservices", Kind: "VirtualService"}, {Name: "destinationrules", Kind: "DestinationRule"}},
}

var istioSecurity = &metav1.APIResourceList{
	GroupVersion: "security.istio.io/v1",
	APIResources: []metav1.APIResource{{Name: "peerauthentications", Kind: "PeerAuthentication"}, {Name: "authorizationpolicies", Kind: "AuthorizationPolicy"}},
}

func TestRequireIstio(t *testing.T) {
	tests := []struct {
		name        string
		served      []*metav1.APIResourceList
		require     []IstioResource
		wantMissing string // Kind reported missing; "" for success
	}{
		{"all served", []*metav1.APIResourceList{istioNetworking, istioSecurity}, []IstioResource{VirtualServices, DestinationRules, PeerAuthentications, AuthorizationPolicies}, ""},
		{"no Istio at all", nil, []IstioResource{VirtualServices}, "VirtualService"},
		{"networking only, security needed", []*metav1.APIResourceList{istioNetworking}, []IstioResource{VirtualServices, PeerAuthentications}, "PeerAuthentication"},
		{"group served without the resource", []*metav1.APIResourceList{{GroupVersion: "networking.istio.io/v1"}}, []IstioResource{DestinationRules}, "DestinationRule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := RequireIstio(fakeDiscovery(tt.served...), tt.require...)
			if tt.wantMissing == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var notInstalled *ErrIstioNotInstalled
			if !errors.As(err, &notInstalled) || notInstalled.Missing.Kind != tt.wantMissing {
				t.Fatalf("want ErrIstioNotInstalled for %s, got %v", tt.wantMissing, err)
			}
			if !strings.HasPrefix(err.Error(), "Istio is not installed in this cluster") || !strings.Contains(err.Error(), "istioctl install") {
				t.Errorf("message does not tell the user what to do: %v", err)
			}
		})
	}
}

// One discovery request per group version, however many resources of it are required.
func TestRequireIstioAsksOncePerGroupVersion(t *testing.T) {
	disc := fakeDiscovery(istioNetworking, istioSecurity)
	if err := RequireIstio(disc, VirtualServices, DestinationRules, PeerAuthentications, AuthorizationPolicies); err != nil {
		t.Fatal(err)
	}
	if got := len(disc.Actions()); got != 2 {
		t.Errorf("want 2 discovery requests, got %d", got)
	}
}
