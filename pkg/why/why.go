// Package why explains one request as Istio would take it: the caller's data plane, the route
// that matches and the versions it sends to, the waypoint, mTLS on both sides, and the
// authorization at every place it is enforced, ending in a verdict. Pure: cluster objects in,
// a report out; the authorization is pkg/istio's evaluator, the one lockdown checks itself with.
package why

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Source is who sends the request: pods of a workload, or a caller the cluster does not hold
// (outside the mesh, or a --principal).
type Source struct {
	Name, Namespace string
	Pods            []corev1.Pod
	// Outside: no mesh identity, plaintext.
	Outside bool
	// Principal stands for a mesh caller the cluster does not hold (TRUSTDOMAIN/ns/NS/sa/SA).
	Principal string
	// RequestPrincipal is the ISS/SUB of the request's JWT ("" without one).
	RequestPrincipal string
	NamespaceLabels  map[string]string
}

// Request is what is sent: method and path (HTTP), and the destination port.
type Request struct {
	Method, Path string
	Port         int
}

// Input is the cluster as the request meets it.
type Input struct {
	Mesh   istio.MeshConfig
	Source Source
	// Service is the destination Service; nil when the destination is a workload.
	Service *corev1.Service
	// Pods are the destination namespace's pods (the Service's, or the workload's, are
	// picked from them).
	Pods []corev1.Pod
	// WorkloadPods are the destination workload's pods when the destination is a workload.
	WorkloadPods    []corev1.Pod
	Namespace       string
	NamespaceLabels map[string]string
	// Routing of the destination's namespace (and VirtualServices of the caller's).
	VirtualServices  []*unstructured.Unstructured
	Routes           []*unstructured.Unstructured // HTTPRoutes and GRPCRoutes
	DestinationRules []*networkingv1.DestinationRule
	Services         []corev1.Service
	EndpointSlices   []discoveryv1.EndpointSlice
	// Security of the destination's namespace and the root namespace.
	PeerAuthentications   []*unstructured.Unstructured
	AuthorizationPolicies []*unstructured.Unstructured
	// Waypoints are the Gateway API Gateways of the namespaces a waypoint may live in.
	Waypoints []*unstructured.Unstructured
	Request   Request
	// ElsewherePods are the destination's pods in the mesh's other clusters (the namespace's,
	// or the workload's): Istio sends a version's requests to them when this cluster has no
	// ready pod of it, so that version is left to those clusters' explanation, not a 503.
	ElsewherePods []corev1.Pod
}

// Step is one stage of the request's way, for people and for JSON.
type Step struct {
	Step   string `json:"step"`
	Object string `json:"object,omitempty"`
	Detail string `json:"detail"`
}

// PolicyRef names the policy (and rule) that decides.
type PolicyRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Rule      *int   `json:"rule,omitempty"`
}

// Verdicts.
const (
	Allowed    = "allowed"
	Denied     = "denied"
	Unroutable = "unroutable"
)

// Endpoint describes a side of the request in the report.
type Endpoint struct {
	Kind      string `json:"kind"` // workload, service, outside, principal
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Dataplane string `json:"dataplane,omitempty"`
	Principal string `json:"principal,omitempty"`
}

// Report is the request's way and the verdict.
type Report struct {
	Source      Endpoint `json:"source"`
	Destination Endpoint `json:"destination"`
	Steps       []Step   `json:"steps"`
	Verdict     string   `json:"verdict"`
	// Response is what the caller gets: "200", "403", "503 UH", "connection reset".
	Response string `json:"response"`
	// DecidedBy is the policy and rule that decide; nil when none does (allowed with no ALLOW
	// policy, or denied because no ALLOW rule matched: Matched is then empty and Applied
	// lists the policies that applied).
	DecidedBy  *PolicyRef `json:"decidedBy"`
	EnforcedAt string     `json:"enforcedAt,omitempty"`
	Matched    []string   `json:"matched"`
	Applied    []string   `json:"applied,omitempty"`
	Observed   *Observed  `json:"observed,omitempty"`
	// Partial: the verdict holds for some of the request's versions only (said in Steps).
	Partial bool `json:"partial,omitempty"`
}
