package mesh

import (
	"context"
	"errors"
	"strings"
	"testing"

	dynamicfake "k8s.io/client-go/dynamic/fake"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
)

// A list the API server answers 404 means the resource is not served: Istio is missing,
// said plainly, while apierrors.IsNotFound still holds for optional APIs.
func TestListIstioTellsIstioIsMissing(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{VirtualServices.GVR(): "VirtualServiceList"})
	dyn.PrependReactor("list", "virtualservices", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(VirtualServices.GVR().GroupResource(), "")
	})
	c := &Clients{Dynamic: dyn}
	_, err := c.ListIstio(context.Background(), VirtualServices, "default")
	var missing *ErrIstioNotInstalled
	if !errors.As(err, &missing) || missing.Missing != VirtualServices || !apierrors.IsNotFound(err) {
		t.Fatalf("want ErrIstioNotInstalled wrapping the 404, got %#v", err)
	}
	if !strings.HasPrefix(err.Error(), "Istio is not installed in this cluster (the API server does not serve networking.istio.io/v1 VirtualService)") || !strings.Contains(err.Error(), "istioctl install") {
		t.Errorf("message does not tell the user what to do: %v", err)
	}
	other := errors.New("connection refused")
	if got := IstioMissing(other, err, nil); got != err {
		t.Errorf("IstioMissing chose %v", got)
	}
	if got := IstioMissing(nil, other); got != other {
		t.Errorf("IstioMissing without Istio's error chose %v", got)
	}
}
