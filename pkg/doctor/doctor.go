// Package doctor looks for what the Istio tutorial warns about, in a live cluster's objects:
// an install that verify-install would fault, a control plane without ops planning, sidecars
// on stateful workloads, default settings left untuned, injection gaps and an uneven mTLS
// posture. Pure: objects in, findings out.
package doctor

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Severity ranks findings: Error breaks the mesh or will, Warning is a risk the tutorial names,
// Info is worth knowing.
type Severity string

// The severities, from the most serious.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Rank orders severities: 0 for Error.
func (s Severity) Rank() int {
	return slices.Index([]Severity{Error, Warning, Info}, s)
}

// Object names what a finding is about.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Finding is one problem: how serious, which check found it, about what, why it matters (in
// the tutorial's terms), and what fixes it.
type Finding struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	Object   Object   `json:"object"`
	Why      string   `json:"why"`
	Fix      string   `json:"fix"`
	// Clusters are where the finding is, with --contexts: the cluster of a cluster's own
	// finding, the clusters that disagree for a drift.
	Clusters []Cluster `json:"clusters,omitempty"`
}

// The checks, by name.
const (
	CheckInstall   = "install"
	CheckVersion   = "proxy-version"
	CheckOps       = "ops-planning"
	CheckRevision  = "revision"
	CheckStateful  = "stateful-sidecar"
	CheckResources = "sidecar-resources"
	CheckSidecar   = "sidecar-scope"
	CheckInjection = "injection"
	CheckMTLS      = "mtls"
)

// Input is what the checks read. Namespace-scoped lists hold the scope's objects (Scope ""
// for all namespaces); the control plane's (Deployments, PodDisruptionBudgets, webhooks)
// and the PeerAuthentications are read everywhere, for they decide every namespace.
type Input struct {
	Scope       string
	IstioServed bool // Istio's CRDs answer
	Mesh        istio.MeshConfig
	Namespaces  []corev1.Namespace // every namespace, for their labels
	Pods        []corev1.Pod
	// ControlPlane are the Deployments of istiod (app=istiod) and of ingress gateways
	// (istio=ingressgateway), wherever they run.
	ControlPlane        []*unstructured.Unstructured
	DisruptionBudgets   []*unstructured.Unstructured
	Webhooks            []*unstructured.Unstructured // mutating webhook configurations
	PeerAuthentications []*unstructured.Unstructured // every namespace
	DestinationRules    []*unstructured.Unstructured
	StatefulSets        []*unstructured.Unstructured // for those with no pods yet
	Sidecars            []*unstructured.Unstructured // every namespace
	// Unknown names what could not be read (the user may not list it): the checks that need
	// it are skipped, not guessed.
	Unknown map[string]bool
}

// What Input.Unknown may name.
const (
	ControlPlaneReads = "istiod and ingress gateway Deployments"
	BudgetReads       = "PodDisruptionBudgets"
	WebhookReads      = "mutating webhook configurations"
	SidecarReads      = "sidecars.networking.istio.io"
	PolicyReads       = "peerauthentications.security.istio.io"
)

// Check runs every check and returns the findings, most serious first.
func Check(in Input) []Finding {
	var findings []Finding
	findings = append(findings, install(in)...)
	if in.IstioServed {
		findings = append(findings, proxyVersions(in)...)
		findings = append(findings, opsPlanning(in)...)
		findings = append(findings, statefulSidecars(in)...)
		findings = append(findings, sidecarResources(in)...)
		findings = append(findings, sidecarScope(in)...)
		findings = append(findings, injectionGaps(in)...)
		findings = append(findings, mtlsPosture(in)...)
	}
	SortFindings(findings)
	return findings
}

// inScope tells whether namespace is one the run looks at.
func (in Input) inScope(namespace string) bool {
	return in.Scope == "" || namespace == in.Scope
}

func (in Input) namespaceLabels(name string) map[string]string {
	for _, ns := range in.Namespaces {
		if ns.Name == name {
			return ns.Labels
		}
	}
	return nil
}
