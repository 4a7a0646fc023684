package lockdown

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Observation is traffic that reached a workload of the namespace in the telemetry window,
// as its sidecar reported it (reporter="destination").
type Observation struct {
	DestinationApp, DestinationVersion string
	// SourcePrincipal is the caller's identity without spiffe://; empty when the request came
	// without mTLS (the destination then knows nothing of the caller).
	SourcePrincipal string
	SourceNamespace string
	SourceWorkload  string
	MTLS            bool
	Protocol        string  // http, grpc or tcp
	Rate            float64 // requests (or connections) per second over the window
}

// Verdict is what the planned policies do to one observed edge.
type Verdict struct {
	Observation
	Workload string
	Allowed  bool
	Why      string
}

// caller reads the principal cluster.local/ns/NS/sa/SA.
func (o Observation) caller() (Caller, bool) {
	parts := strings.Split(o.SourcePrincipal, "/")
	if !o.MTLS || len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" {
		return Caller{}, false
	}
	return Caller{Namespace: parts[2], ServiceAccount: parts[4], Reason: "seen in traffic"}, true
}

func (o Observation) from() string {
	if o.SourceWorkload == "" || o.SourceWorkload == "unknown" {
		return "unknown caller (outside the mesh)"
	}
	return o.SourceNamespace + "/" + o.SourceWorkload
}

// workloadsOfObservation are the workloads an observation's destination labels name: one,
// or the siblings of an app and version split apart (telemetry does not tell them apart).
func workloadsOfObservation(workloads []*Workload, o Observation) []*Workload {
	var out []*Workload
	for _, w := range workloads {
		app := w.Selector["app"]
		if app == "" {
			app = w.Selector["app.kubernetes.io/name"]
		}
		version := w.Selector["version"]
		if version == "" {
			version = w.Selector["app.kubernetes.io/version"]
		}
		if app == o.DestinationApp && (version == "" || version == o.DestinationVersion) {
			out = append(out, w)
		}
	}
	return out
}

// observedCallers adds the mTLS callers seen in traffic to each workload's allow-list, and
// returns the plaintext traffic that STRICT would reject, one line per destination.
func (p *Plan) observedCallers(observed []Observation, outsideMesh []string) (plaintext []string) {
	rates := map[string]float64{}
	for _, o := range observed {
		for _, w := range workloadsOfObservation(p.Workloads, o) {
			if c, ok := o.caller(); ok {
				p.Allowed[w.Name] = appendCallers(p.Allowed[w.Name], c)
			} else if !o.MTLS {
				rates[w.Name] += o.Rate
			}
		}
	}
	candidates := ""
	if len(outsideMesh) > 0 {
		candidates = "; workloads outside the mesh that may be the callers: " + strings.Join(outsideMesh, ", ")
	}
	for _, name := range slices.Sorted(maps.Keys(rates)) {
		plaintext = append(plaintext, fmt.Sprintf("%s/%s receives plaintext traffic (%.2f/s) from callers outside the mesh%s", p.Namespace, name, rates[name], candidates))
	}
	return plaintext
}

// Verdicts says, for every observed edge into the namespace, whether the planned lockdown
// lets it through.
func (p *Plan) Verdicts(observed []Observation) []Verdict {
	var out []Verdict
	for _, o := range observed {
		targets := workloadsOfObservation(p.Workloads, o)
		if len(targets) == 0 {
			out = append(out, Verdict{Observation: o, Workload: o.DestinationApp, Why: "no running workload: not covered"})
		}
		for _, w := range targets {
			out = append(out, p.verdict(o, w))
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

// verdict is what the plan does to one observed edge into workload w.
func (p *Plan) verdict(o Observation, w *Workload) Verdict {
	v := Verdict{Observation: o}
	switch {
	case !o.MTLS:
		v.Workload, v.Why = w.Name, "rejected: plaintext under STRICT"
	case p.Gateways[w.Name]:
		v.Workload, v.Allowed, v.Why = w.Name, true, "allowed: gateway"
	default:
		v.Workload, v.Why = w.Name, "denied: no ALLOW rule"
		c, _ := o.caller()
		for _, allowed := range p.Allowed[w.Name] {
			if allowed.Namespace == c.Namespace && (allowed.ServiceAccount == "" || allowed.ServiceAccount == c.ServiceAccount) {
				v.Allowed, v.Why = true, "allowed: "+allowed.Reason
				break
			}
		}
	}
	return v
}
