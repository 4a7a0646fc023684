package canary

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// figureReporter is who reports the requests the plan's figures count: the waypoint in
// ambient mode, the destination's sidecar otherwise.
func (p *Plan) figureReporter() string {
	if p.Waypoint != "" {
		return istio.ReporterWaypoint
	}
	return istio.ReporterDestination
}

// nameReported records, per backend, the versions its requests are reported under
// (destination_version), as the figures' reporter names its pods (istio.TelemetryName): the
// waypoint by canonical revision (app.kubernetes.io/version before version), a sidecar by the
// version label. Without pods, what its selector's labels say.
func (p *Plan) nameReported(in Input) {
	reporter := p.figureReporter()
	p.reported = map[string][]string{}
	for _, b := range p.Backends {
		var reported []string
		for j := range in.Pods {
			pod := &in.Pods[j]
			if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || !istio.SelectorMatches(b.Labels, pod.Labels) {
				continue
			}
			if _, version := istio.TelemetryName(reporter, istio.Dataplane(pod, in.NamespaceLabels), pod.Labels); !slices.Contains(reported, version) {
				reported = append(reported, version)
			}
		}
		if len(reported) == 0 && b.Version != "" {
			_, version := istio.TelemetryName(reporter, istio.DataplaneSidecar, b.Labels)
			reported = []string{version}
		}
		slices.Sort(reported)
		p.reported[b.Name] = reported
	}
}

// FigureVersion is the destination_version under which Istio's figures report the requests
// of backend name, the only way to tell its traffic apart from the other versions'; an error
// says why they cannot be told apart.
func (p *Plan) FigureVersion(name string) (string, error) {
	reported, found := p.reported[name]
	if !found {
		return "", fmt.Errorf("%s %s is not a version of %s", p.API.Term, name, p.Service)
	}
	by := "their sidecars (the version label)"
	if p.figureReporter() == istio.ReporterWaypoint {
		by = "the waypoint (the canonical revision: " + istio.CanonicalRevisionLabel + ", else app.kubernetes.io/version, else version)"
	}
	switch {
	case len(reported) == 0:
		return "", fmt.Errorf("%s %s does not select pods by a version label, so its traffic cannot be told apart in Istio's metrics (destination_version)", p.API.Term, name)
	case len(reported) > 1:
		return "", fmt.Errorf("the pods of %s %s are reported under several versions (%s) by %s, so its traffic cannot be told apart in Istio's metrics (destination_version); give them one",
			p.API.Term, name, strings.Join(reported, ", "), by)
	}
	for _, other := range p.Backends {
		if other.Name != name && slices.Contains(p.reported[other.Name], reported[0]) {
			return "", fmt.Errorf("the pods of %s %s and of %s are both reported as version %q by %s, so their traffic cannot be told apart in Istio's metrics (destination_version); give them different versions",
				p.API.Term, name, other.Name, reported[0], by)
		}
	}
	return reported[0], nil
}
