package istio

import "testing"

func TestTelemetryName(t *testing.T) {
	both := map[string]string{"app": "api", "version": "v1", "app.kubernetes.io/name": "api-server", "app.kubernetes.io/version": "1.4.2"}
	canonical := map[string]string{"app": "api", "version": "v1", CanonicalNameLabel: "api-canonical", CanonicalRevisionLabel: "r7", "app.kubernetes.io/version": "1.4.2"}
	tests := []struct {
		name                string
		reporter, dataplane string
		labels              map[string]string
		app, version        string
	}{
		{"sidecar: app and version", ReporterDestination, DataplaneSidecar, both, "api", "v1"},
		{"sidecar as source: the same", ReporterSource, DataplaneSidecar, both, "api", "v1"},
		{"sidecar ignores the canonical labels", ReporterDestination, DataplaneSidecar, canonical, "api", "v1"},
		{"sidecar without version", ReporterDestination, DataplaneSidecar, map[string]string{"app": "api"}, "api", "unknown"},
		{"sidecar without app: not named", ReporterDestination, DataplaneSidecar, map[string]string{"app.kubernetes.io/name": "api"}, "", "unknown"},
		{"ztunnel: Kubernetes' recommended labels before app and version", ReporterDestination, DataplaneAmbient, both, "api-server", "1.4.2"},
		{"ztunnel: canonical labels first", ReporterDestination, DataplaneAmbient, canonical, "api-canonical", "r7"},
		{"ztunnel: app and version last", ReporterDestination, DataplaneAmbient, map[string]string{"app": "api", "version": "v1"}, "api", "v1"},
		{"ztunnel without version: latest", ReporterDestination, DataplaneAmbient, map[string]string{"app": "api"}, "api", "latest"},
		{"ztunnel without any name: not named", ReporterDestination, DataplaneAmbient, map[string]string{"version": "v1"}, "", "v1"},
		{"ztunnel: a label present, though empty, wins (as istiod reads it)", ReporterDestination, DataplaneAmbient, map[string]string{"app": "api", CanonicalRevisionLabel: "", "version": "v1"}, "api", ""},
		{"waypoint: canonical", ReporterWaypoint, DataplaneAmbient, both, "api-server", "1.4.2"},
		{"waypoint: canonical whatever the data plane", ReporterWaypoint, DataplaneSidecar, canonical, "api-canonical", "r7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, version := TelemetryName(tt.reporter, tt.dataplane, tt.labels)
			if app != tt.app || version != tt.version {
				t.Errorf("TelemetryName = %q, %q; want %q, %q", app, version, tt.app, tt.version)
			}
		})
	}
}
