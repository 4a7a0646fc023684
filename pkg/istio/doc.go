// Package istio is Istio's rules as kubectl mesh reads them, in one place: which
// PeerAuthentication decides a workload's mTLS mode, which AuthorizationPolicies apply to it,
// what a host in a VirtualService or DestinationRule names, where mesh-wide policy lives, and
// how a pod takes part in the mesh. Everything here is pure: API objects in, answers out.
//
// The simulated data plane (internal/sim) keeps a reading of its own on purpose: it is the
// test oracle, and must not share a misreading with the plugins.
package istio
