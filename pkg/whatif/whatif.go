// Package whatif replays the traffic telemetry saw against the policies as they are and as a
// change would leave them, and lists the observed edges whose verdict changes: traffic that
// would break, access that would open. It is pure (objects and observations in, a report
// out), and the evaluator that decides is lockdown's (pkg/istio), so that what-if, why and
// lockdown agree by construction.
package whatif

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Reporters whose series name the caller a policy was enforced for: the destination's proxy
// (sidecar or ztunnel), and the waypoint, which names the original caller where the
// destination's ztunnel sees only the waypoint.
const (
	ReporterDestination = istio.ReporterDestination
	ReporterWaypoint    = istio.ReporterWaypoint
)

// Observation is one edge telemetry saw over the window, as the proxy that enforced policy for
// it reported it, with every request or connection counted, those refused included: a caller
// refused today is who a change may let in.
type Observation struct {
	Reporter    string
	Source      Source
	Destination Destination
	MTLS        bool   // connection_security_policy mutual_tls
	Protocol    string // http, grpc or tcp
	// Requests (TCP: connections) over the window, and how many of them policy refused (403,
	// gRPC PERMISSION_DENIED, response flags DENY, RBAC, UAEX).
	Requests, Refused float64
}

// Source is the caller as the reporting proxy knew it. Without mTLS it knows nothing.
type Source struct {
	Workload  string `json:"workload,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Principal is the caller's identity without spiffe:// (TRUSTDOMAIN/ns/NS/sa/SA); "" when
	// the destination did not learn it.
	Principal string `json:"principal,omitempty"`
	// Cluster is the caller's cluster ID (source_cluster); "" in one cluster's replay.
	Cluster string `json:"cluster,omitempty"`
}

// Destination is the workload called, and the Service the caller asked for.
type Destination struct {
	Workload  string `json:"workload,omitempty"`
	Namespace string `json:"namespace"`
	// App and Version name the pods as the reporter does (istio.TelemetryName); App is ""
	// when telemetry does not know it.
	App     string `json:"-"`
	Version string `json:"-"`
	Service string `json:"service,omitempty"` // a Service of Namespace; "" when unknown
	// Cluster is the cluster ID the destination ran in (destination_cluster), whose policies
	// decide; "" in one cluster's replay.
	Cluster string `json:"cluster,omitempty"`
}

// Cluster is what the replay needs of the cluster besides policies: the pods (and their
// namespaces' labels, which say ambient or not and which waypoint) where the observed edges
// end, the Services they were called through, and the mesh config.
type Cluster struct {
	Mesh            istio.MeshConfig
	NamespaceLabels map[string]map[string]string
	Pods            []corev1.Pod
	Services        []corev1.Service
}

// Policies are the policies in force (before) or as a change would leave them (after): those
// of the namespaces replayed and of the root namespace.
type Policies struct {
	AuthorizationPolicies []*unstructured.Unstructured
	PeerAuthentications   []*unstructured.Unstructured
}

// Verdicts of an edge.
const (
	Allowed = "allowed"
	Denied  = "denied"
	// Partial: allowed for some of the edge's requests only. Telemetry does not record
	// methods, paths, headers or tokens; a rule that looks at them decides some requests.
	Partial = "partial"
)

// Changes of an edge's verdict.
const (
	NewlyDenied  = "newly-denied"  // traffic that would break
	NewlyAllowed = "newly-allowed" // access that would open
	Mixed        = "mixed"         // some requests newly denied, others newly allowed
)

// Edge is an observed edge whose verdict the change would change.
type Edge struct {
	Source      Source      `json:"source"`
	Destination Destination `json:"destination"`
	Protocol    string      `json:"protocol"`
	MTLS        bool        `json:"mtls"` // false: plaintext, the caller unknown
	Requests    int64       `json:"requests"`
	Refused     int64       `json:"refused"` // of the requests, refused today
	Before      string      `json:"before"`
	After       string      `json:"after"`
	Change      string      `json:"change"`
	// DecidedBy is the policy and rule that decide after the change; nil when none does
	// (allowed with no ALLOW policy, or denied because no ALLOW rule matches: Why says which
	// policies applied).
	DecidedBy  *DecidedBy `json:"decidedBy"`
	EnforcedAt string     `json:"enforcedAt,omitempty"` // sidecar, ztunnel, waypoint or gateway
	Why        string     `json:"why"`                  // after the change
	WhyBefore  string     `json:"whyBefore"`
}

// DecidedBy names a policy, and the rule of it that decides.
type DecidedBy struct {
	Kind      string `json:"kind"` // AuthorizationPolicy or PeerAuthentication
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Rule is the index in spec.rules; nil for the policy as a whole (a PeerAuthentication,
	// an ALLOW policy without rules).
	Rule *int `json:"rule"`
}

// Result is what a replay found.
type Result struct {
	// Replayed counts the observed edges replayed; Edges are those whose verdict changes,
	// newly denied first.
	Replayed int
	Edges    []Edge
	// Unresolved says which observed edges could not be replayed (their workload no longer
	// runs), one line each.
	Unresolved []string
}
