package istio

// Istio's canonical service labels: the injector and istiod read a workload's canonical
// service and revision from them first.
const (
	CanonicalNameLabel     = "service.istio.io/canonical-name"
	CanonicalRevisionLabel = "service.istio.io/canonical-revision"
)

// Values of the reporter label of Istio's metrics.
const (
	ReporterSource      = "source"
	ReporterDestination = "destination"
	ReporterWaypoint    = "waypoint"
)

// Where telemetry names a workload by its canonical service and revision (ztunnel's and the
// waypoint's WorkloadInfo from istiod), these labels are read, the first present one winning
// (even if empty, as istiod reads them); without any, istiod uses the workload's name (which a
// pod's labels do not say) and "latest".
var (
	canonicalNameLabels     = []string{CanonicalNameLabel, "app.kubernetes.io/name", "app"}
	canonicalRevisionLabels = []string{CanonicalRevisionLabel, "app.kubernetes.io/version", "version"}
)

// TelemetryName is the app and version by which one report names a pod with these labels
// (destination_app and destination_version when the pod is the destination, source_* when it
// is the source): reporter is the report's reporter label, dataplane the pod's (Dataplane),
// and the report is the pod's own proxy's or a waypoint's.
//
// A waypoint, and ztunnel (a report by the pod's own proxy in ambient mode), name a pod by its
// canonical service and revision: service.istio.io/canonical-name, else
// app.kubernetes.io/name, else app; service.istio.io/canonical-revision, else
// app.kubernetes.io/version, else version, else "latest". A sidecar (Istio 1.26 to 1.28) names
// it by its app and version labels, "unknown" for a missing version. So a pod labelled
// version: v1 and app.kubernetes.io/version: 1.4.2 is v1 to its sidecar and 1.4.2 to ztunnel.
//
// app is "" when the labels do not name the pod for that reporter (a sidecar writes
// "unknown", istiod the workload's name): such a report cannot be told to be this pod's.
func TelemetryName(reporter, dataplane string, labels map[string]string) (app, version string) {
	if reporter == ReporterWaypoint || dataplane == DataplaneAmbient {
		return firstLabel(labels, canonicalNameLabels, ""), firstLabel(labels, canonicalRevisionLabels, "latest")
	}
	version = labels["version"]
	if version == "" {
		version = "unknown"
	}
	return labels["app"], version
}

func firstLabel(labels map[string]string, keys []string, otherwise string) string {
	for _, k := range keys {
		if v, ok := labels[k]; ok {
			return v
		}
	}
	return otherwise
}
