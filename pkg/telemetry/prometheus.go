// Package telemetry reads Istio's standard metrics from Prometheus: where Prometheus is, and
// the few queries the graph is built from.
package telemetry

import (
	"fmt"
	"net/url"
	"strings"
)

// EnvPrometheusURL names Prometheus when --prometheus-url does not.
const EnvPrometheusURL = "MESH_PROMETHEUS_URL"

// Prometheus is a Prometheus server's HTTP API and how it was found, for messages.
type Prometheus struct {
	endpoint
	warn func(string) // told what Prometheus warned about an answer; nil: warnings are errors
}

// thanosParams ask Thanos Query for one series per replica set and for what the stores
// that answered hold, which Prometheus ignores: a partial answer comes with warnings, said.
func thanosParams(params url.Values) url.Values {
	params.Set("dedup", "true")
	params.Set("partial_response", "true")
	return params
}

// warned says what Prometheus warned about an answer: a partial answer (a Thanos store or a
// federated Prometheus that did not answer) must not pass for the whole. Without a Warn to
// tell, the answer is refused.
func (p *Prometheus) warned(warnings []string) error {
	if len(warnings) == 0 {
		return nil
	}
	if p.warn == nil {
		return fmt.Errorf("Prometheus at %s: partial answer: %s", p.Where, strings.Join(warnings, "; "))
	}
	for _, w := range warnings {
		p.warn(fmt.Sprintf("Prometheus at %s: partial answer: %s", p.Where, w))
	}
	return nil
}

// prometheusHint is what to check when an answer is not Prometheus's.
const prometheusHint = "is it Prometheus? check the URL, or pass --prometheus-url"
