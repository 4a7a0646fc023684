// Package telemetry reads Istio's standard metrics from Prometheus: where Prometheus is, and
// the few queries the graph is built from.
package telemetry

// EnvPrometheusURL names Prometheus when --prometheus-url does not.
const EnvPrometheusURL = "MESH_PROMETHEUS_URL"

// Prometheus is a Prometheus server's HTTP API and how it was found, for messages.
type Prometheus struct{ endpoint }

// prometheusHint is what to check when an answer is not Prometheus's.
const prometheusHint = "is it Prometheus? check the URL, or pass --prometheus-url"
