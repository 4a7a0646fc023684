package mesh

import (
	"fmt"
	"time"

	networkingv1 "istio.io/client-go/pkg/clientset/versioned/typed/networking/v1"
	securityv1 "istio.io/client-go/pkg/clientset/versioned/typed/security/v1"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryv1client "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
)

// Clients are the typed API clients the plugins use. Only the API groups we read or write are
// included (not the full clientsets), which keeps the binaries small; the fields are
// interfaces so that unit tests can pass fake clientsets' group clients.
type Clients struct {
	Core          corev1client.CoreV1Interface
	EndpointSlice discoveryv1client.DiscoveryV1Interface
	Networking    networkingv1.NetworkingV1Interface
	Security      securityv1.SecurityV1Interface
	// Dynamic reads and writes Istio objects we change, as unstructured objects, so that
	// fields our typed client does not know survive a read-modify-write.
	Dynamic dynamic.Interface
	// Config is what the clients were built from; nil for fakes. The graph reaches
	// Prometheus through the API server with it.
	Config *rest.Config
}

// ClientGetter is what a command needs from its environment: the namespace to work in and
// clients to reach the cluster. ConfigFlags implements it; tests supply their own.
type ClientGetter interface {
	// Namespace is the namespace to work in, and whether the user chose it (-n).
	Namespace() (ns string, explicit bool, err error)
	Clients() (*Clients, error)
	// RequestTimeout is --request-timeout; 0 when it is not given.
	RequestTimeout() time.Duration
	// The clusters of a multi-cluster mesh, by kubeconfig context (--contexts).
	ClustersGetter
	// ExplicitContext is --context, "" when not given.
	ExplicitContext() string
}

// Clients builds clients for the selected kubeconfig context. Building them makes no request.
func (f *ConfigFlags) Clients() (*Clients, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return NewClients(cfg)
}

// NewClients builds every group client from one REST config.
func NewClients(cfg *rest.Config) (*Clients, error) {
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building core client: %w", err)
	}
	slices, err := discoveryv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building discovery.k8s.io client: %w", err)
	}
	networking, err := networkingv1.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building networking.istio.io client: %w", err)
	}
	security, err := securityv1.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building security.istio.io client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building dynamic client: %w", err)
	}
	return &Clients{Core: core, EndpointSlice: slices, Networking: networking, Security: security, Dynamic: dyn, Config: cfg}, nil
}
