package lockdown

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Observation is traffic that reached a workload of the namespace in the telemetry window,
// as the destination's proxy (its sidecar, or ztunnel in ambient mode) or the waypoint in
// front of it reported it.
type Observation struct {
	// Reporter is the report's reporter label: "destination" (the default) or "waypoint". It
	// says how the destination is named (istio.TelemetryName).
	Reporter                           string
	DestinationApp, DestinationVersion string
	// SourcePrincipal is the caller's identity without spiffe://; empty when the request came
	// without mTLS (the destination then knows nothing of the caller).
	SourcePrincipal string
	SourceNamespace string
	SourceWorkload  string
	MTLS            bool
	Protocol        string  // http, grpc or tcp
	Rate            float64 // requests (or connections) per second over the window
	// Requests are the requests (or connections) over the whole window; 0 when not known.
	Requests float64
}

// Verdict is what the planned policies do to one observed edge.
type Verdict struct {
	Observation
	Workload string
	Allowed  bool
	Why      string
}

// caller reads the mTLS caller's principal, TRUSTDOMAIN/ns/NS/sa/SA, validated as
// --allow-from is: telemetry is input to check, not to trust.
func (o Observation) caller(mesh istio.MeshConfig) (Caller, bool) {
	if !o.MTLS || o.SourcePrincipal == "" {
		return Caller{}, false
	}
	c, err := ParsePrincipal(o.SourcePrincipal, mesh)
	c.Reason = "seen in traffic"
	return c, err == nil
}

// volume says how much of an edge telemetry saw: its requests (connections, for TCP) over the
// window, which a rate averaged over a long window hides (0.00/s minutes after the traffic
// began); the rate when the count is not known.
func (o Observation) volume() string {
	if o.Requests <= 0 {
		return fmt.Sprintf("%.2f/s", o.Rate)
	}
	unit := "requests"
	if o.Protocol == "tcp" {
		unit = "connections"
	}
	if o.Requests < 1.5 {
		unit = strings.TrimSuffix(unit, "s")
	}
	return fmt.Sprintf("%.0f %s", o.Requests, unit)
}

func (o Observation) from() string {
	if o.SourceWorkload == "" || o.SourceWorkload == "unknown" {
		return "unknown caller (outside the mesh)"
	}
	return o.SourceNamespace + "/" + o.SourceWorkload
}

// workloadsOfObservation are the workloads an observation's destination labels name, read
// as its reporter names pods (istio.TelemetryName: a sidecar by app and version, ztunnel and
// waypoints by canonical service and revision): one, or the siblings of an app and version
// split apart (telemetry does not tell them apart).
func workloadsOfObservation(workloads []*Workload, o Observation) []*Workload {
	reporter := o.Reporter
	if reporter == "" {
		reporter = istio.ReporterDestination
	}
	var out []*Workload
	for _, w := range workloads {
		for _, labels := range w.podLabels {
			app, version := istio.TelemetryName(reporter, w.Dataplane, labels)
			if app != "" && app == o.DestinationApp && version == o.DestinationVersion {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

// observedCallers adds the mTLS callers seen in traffic to each workload's allow-list, and
// returns the plaintext traffic that STRICT would reject, one line per destination.
func (p *Plan) observedCallers(observed []Observation, outsideMesh []string) (plaintext []string) {
	rates, counts := map[string]float64{}, map[string]float64{}
	http := map[string]bool{} // whether a workload's plaintext includes requests, not only connections
	invalid := map[string]bool{}
	for _, o := range observed {
		for _, w := range workloadsOfObservation(p.Workloads, o) {
			if c, ok := o.caller(p.mesh); ok {
				p.Allowed[w.Name] = appendCallers(p.Allowed[w.Name], c)
			} else if !o.MTLS {
				rates[w.Name] += o.Rate
				counts[w.Name] += o.Requests
				http[w.Name] = http[w.Name] || o.Protocol != "tcp"
			} else if _, err := ParsePrincipal(o.SourcePrincipal, p.mesh); err != nil && !invalid[o.SourcePrincipal] {
				invalid[o.SourcePrincipal] = true
				p.Warnings = append(p.Warnings, fmt.Sprintf("telemetry names a caller of %s/%s whose %v: not allowed (pass --allow-from if it is a real caller)", p.Namespace, w.Name, err))
			}
		}
	}
	candidates := ""
	if len(outsideMesh) > 0 {
		candidates = "; workloads outside the mesh that may be the callers: " + strings.Join(outsideMesh, ", ")
	}
	for _, name := range slices.Sorted(maps.Keys(rates)) {
		seen := Observation{Rate: rates[name], Requests: counts[name], Protocol: "tcp"}
		if http[name] {
			seen.Protocol = "http"
		}
		plaintext = append(plaintext, fmt.Sprintf("%s/%s receives plaintext traffic (%s) from callers outside the mesh%s", p.Namespace, name, seen.volume(), candidates))
	}
	return plaintext
}

// notCovered is the verdict on an edge into a workload that does not run in the namespace.
const notCovered = "no running workload: not covered"

// Verdicts says, for every observed edge into the namespace, whether the planned lockdown
// lets it through, as the evaluator reads the policies in force afterwards.
func (p *Plan) Verdicts(in Input, observed []Observation) []Verdict {
	var out []Verdict
	for _, o := range observed {
		targets := workloadsOfObservation(p.Workloads, o)
		if len(targets) == 0 {
			out = append(out, Verdict{Observation: o, Workload: o.DestinationApp, Why: notCovered})
		}
		for _, w := range targets {
			out = append(out, p.verdict(in, o, w))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Workload != out[j].Workload {
			return out[i].Workload < out[j].Workload
		}
		return out[i].from() < out[j].from()
	})
	return out
}

// verdict is what the plan does to one observed edge into workload w: decided where Istio
// decides it (the workload's sidecar or ztunnel, or the waypoint that carries its Service).
func (p *Plan) verdict(in Input, o Observation, w *Workload) Verdict {
	v := Verdict{Observation: o, Workload: w.Name}
	point, enforced := p.pointOf(in, w)
	switch {
	case !o.MTLS:
		v.Why = "rejected: plaintext under STRICT"
		return v
	case !enforced:
		v.Allowed, v.Why = true, "allowed: no proxy enforces policy for it"
		return v
	}
	c, identified := o.caller(in.Mesh)
	request := istio.Request{Principal: istio.Unknown, RequestPrincipal: istio.Unknown, TCP: o.Protocol == "tcp"}
	if identified {
		request.Principal = c.Principal(in.Mesh)
	}
	if b := p.waypointFor(w); b != nil && !(identified && isIdentityOf(c, b.Identities)) {
		point = waypointPoint(in, *b)
	}
	d := p.after.Decide(point, request)
	switch d.Allowed {
	case istio.Yes:
		v.Allowed, v.Why = true, "allowed: "+p.allowedBecause(w, c, d)
	case istio.Maybe:
		v.Why = "allowed only for some requests: " + d.Reason
	default:
		v.Why = d.Reason
		if !strings.HasPrefix(v.Why, "denied") {
			v.Why = "denied: " + v.Why
		}
	}
	return v
}

// allowedBecause names why an allowed edge is allowed: the reason lockdown keeps the caller,
// else the rule that admits it.
func (p *Plan) allowedBecause(w *Workload, c Caller, d istio.Decision) string {
	if p.Gateways[w.Name] && len(p.Kept[w.Name]) == 0 {
		return "gateway"
	}
	for _, allowed := range p.Allowed[w.Name] {
		if allowed.Namespace == c.Namespace && (allowed.ServiceAccount == "" || allowed.ServiceAccount == c.ServiceAccount) {
			return allowed.Reason
		}
	}
	return strings.TrimPrefix(d.Reason, "allowed ")
}

// waypointFor is the waypoint binding that carries w's traffic, if any.
func (p *Plan) waypointFor(w *Workload) *WaypointBinding {
	for i := range p.Waypoints {
		if slices.Contains(p.Waypoints[i].Workload, w.Name) {
			return &p.Waypoints[i]
		}
	}
	return nil
}
