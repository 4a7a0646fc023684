//go:build e2e

package sandbox_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
)

// sandboxDoctorFindings are the sandbox's examples of what doctor looks for, once each, while
// default is locked down (STRICT) and the other meshed namespaces are not.
var sandboxDoctorFindings = []string{
	"warning injection Pod/legacy/curl-client-0",
	"warning mtls DestinationRule/legacy/curl-client",
	"warning mtls Namespace/bookinfo-ambient",
	"warning mtls Namespace/bookinfo-gateway-api",
	"warning mtls PeerAuthentication/legacy/default",
	"warning ops-planning Deployment/istio-system/istiod",
	"warning ops-planning Deployment/istio-system/istiod",
	"warning proxy-version Pod/default/details-v1-0",
	"warning sidecar-resources Namespace/bookinfo-gateway-api",
	"warning sidecar-resources Namespace/default",
	"warning stateful-sidecar StatefulSet/default/mongodb-v1",
	"info revision Deployment/istio-system/istiod",
	"info sidecar-scope Namespace/bookinfo-gateway-api",
	"info sidecar-scope Namespace/default",
}

// assertDoctorFindsTheExamples runs doctor -A on the sandbox, by both spellings: one finding per
// example, warnings only (exit 0 by default, 1 with --fail-on warning).
func assertDoctorFindsTheExamples(t *testing.T, path string, sb *sandbox.Sandbox) {
	t.Helper()
	for _, spelling := range [][]string{{"mesh", "doctor"}, {"mesh-doctor"}} {
		r := kubectl(t, path, sb, append(spelling, "-A", "-o", "json")...)
		var report struct {
			Findings []struct {
				Severity, Check string
				Object          struct{ Kind, Namespace, Name string }
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != 0 {
			t.Fatalf("%v -A -o json: %v\n%+v", spelling, err, r)
		}
		var got []string
		for _, f := range report.Findings {
			object := f.Object.Kind + "/" + f.Object.Name
			if f.Object.Namespace != "" {
				object = f.Object.Kind + "/" + f.Object.Namespace + "/" + f.Object.Name
			}
			got = append(got, f.Severity+" "+f.Check+" "+object)
		}
		if !slices.Equal(got, sandboxDoctorFindings) {
			t.Errorf("%v -A on the sandbox:\n got %q\nwant %q", spelling, got, sandboxDoctorFindings)
		}
	}
	if r := kubectl(t, path, sb, "mesh", "doctor", "-A", "--fail-on", "warning"); r.code != 1 {
		t.Errorf("doctor -A --fail-on warning: want exit 1:\n%+v", r)
	}
}
