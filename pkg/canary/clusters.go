package canary

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Several clusters. In a multi-primary mesh each istiod reads its own cluster's routes, so a
// split is written in every cluster, and only while the clusters agree on what decides it:
// the kind of route and the rule picked, the weights, the canary record (the roles) and the
// versions (DestinationRule subsets or version Services). Pods are not compared: a
// Service's endpoints are its pods in every cluster (namespace sameness).

// Split is what decides a service's split in one cluster, as read before any change.
type Split struct {
	// Route is the route and rule carrying the traffic, "VirtualService reviews, route #0";
	// "" when no route does.
	Route string
	// Weights are the rule's shares now (versions given no traffic left out: they decide
	// nothing).
	Weights []Weight
	// Record is the canary in progress, "v1 stable, v2 canary"; "" when none is.
	Record string
	// Term names the versions (subset, backend); Versions are theirs, each with the pod
	// labels it selects: "v1 (version=v1)".
	Term     string
	Versions []string
}

// SplitOf reads the split the service has in one cluster: what a status of req's route says.
func SplitOf(in Input, req Request) (Split, error) {
	p, err := Compute(in, Request{Route: req.Route})
	if err != nil {
		return Split{}, err
	}
	s := Split{Term: p.API.Term}
	if p.Route != nil {
		s.Route = fmt.Sprintf("%s %s, %s", p.Route.GetKind(), p.Route.GetName(), p.Rule)
		for _, w := range p.Before {
			if w.Weight > 0 {
				s.Weights = append(s.Weights, w)
			}
		}
		sort.SliceStable(s.Weights, func(i, j int) bool { return s.Weights[i].Backend < s.Weights[j].Backend })
	}
	if p.InProgress {
		s.Record = fmt.Sprintf("%s stable, %s canary", p.Stable, p.Canary)
	}
	for _, b := range p.Backends {
		s.Versions = append(s.Versions, fmt.Sprintf("%s (%s)", b.Name, formatLabels(b.Labels)))
	}
	return s, nil
}

func formatLabels(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// ClusterSplit is one cluster's split; Cluster names the cluster for people.
type ClusterSplit struct {
	Cluster string
	Split   Split
}

// splitAspects are the parts of a split compared, each said as a cluster has it.
var splitAspects = []func(Split) string{
	func(s Split) string {
		if s.Route == "" {
			return "has no route for it (traffic spreads over all pods)"
		}
		return "routes it with " + s.Route
	},
	func(s Split) string {
		if s.Route == "" {
			return "sets no weights"
		}
		return "sends " + strings.ReplaceAll(FormatWeights(s.Weights), "%", "")
	},
	func(s Split) string {
		if s.Record == "" {
			return "has no canary in progress"
		}
		return "has a canary in progress (" + s.Record + ")"
	},
	func(s Split) string {
		term := s.Term
		if term == "" {
			term = "version"
		}
		if len(s.Versions) == 0 {
			return "has no " + term + "s"
		}
		return "has " + term + "s " + strings.Join(s.Versions, ", ")
	},
}

// Differences says how the clusters' splits of svc differ: a line per aspect that is not
// the same in every cluster, saying what each has ("reviews: cluster a sends v1 90, v2 10;
// cluster b sends v1 100"). None when they agree.
func Differences(svc istio.Service, splits []ClusterSplit) []string {
	var lines []string
	for _, aspect := range splitAspects {
		said := make([]string, len(splits))
		for i, s := range splits {
			said[i] = aspect(s.Split)
		}
		if len(slices.Compact(slices.Clone(said))) <= 1 {
			continue
		}
		parts := make([]string, len(splits))
		for i, s := range splits {
			parts[i] = s.Cluster + " " + said[i]
		}
		lines = append(lines, svc.Name+": "+strings.Join(parts, "; "))
	}
	return lines
}

// MeshWide is in with the pods and EndpointSlices of every cluster's input (all, which may
// hold in itself): endpoints merge across clusters, so a version with ready pods in any
// cluster is served from every cluster, and one with none anywhere from none. Endpoints
// count as unreadable when they are in some cluster.
func MeshWide(in Input, all []Input) Input {
	out := in
	out.Pods, out.EndpointSlices, out.EndpointsUnreadable = nil, nil, false
	for _, other := range all {
		out.Pods = append(out.Pods, other.Pods...)
		out.EndpointSlices = append(out.EndpointSlices, other.EndpointSlices...)
		out.EndpointsUnreadable = out.EndpointsUnreadable || other.EndpointsUnreadable
	}
	return out
}

// SumFigures adds up the versions' figures of several clusters, each from its own
// Prometheus (whose reports are disjoint): requests and rates add, the error rate is
// weighted by requests, and p99 is the highest cluster's, a bound on the mesh's (quantiles
// do not add).
func SumFigures(parts []map[string]Figures) map[string]Figures {
	sum := map[string]Figures{}
	errs := map[string]float64{}
	for _, part := range parts {
		for version, f := range part {
			s := sum[version]
			s.RPS += f.RPS
			s.Requests += f.Requests
			errs[version] += f.ErrorRate * f.RPS
			if f.HasP99 && (!s.HasP99 || f.P99Ms > s.P99Ms) {
				s.P99Ms, s.HasP99 = f.P99Ms, true
			}
			sum[version] = s
		}
	}
	for version, s := range sum {
		if s.RPS > 0 {
			s.ErrorRate = errs[version] / s.RPS
		}
		sum[version] = s
	}
	return sum
}
