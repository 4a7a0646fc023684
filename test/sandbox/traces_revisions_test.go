//go:build e2e

package sandbox_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/sandbox"
	"github.com/kubectl-mesh/kubectl-mesh/internal/sim"
)

// assertVersionThatDropsIsNamed makes reviews-v3 forward the trace context while reviews-v2
// still drops it: --check, judging per canonical service and revision as graph judges per
// workload, names reviews@v2's edge to ratings and calls reviews@v3's "propagates", where a
// verdict per service let v3's calls hide v2's.
func assertVersionThatDropsIsNamed(t *testing.T, path string, sb *sandbox.Sandbox, jaeger []string) {
	t.Helper()
	if out, err := exec.Command("kubectl", "--kubeconfig", sb.Cluster.Kubeconfig, "annotate", "deployment", "reviews-v3", "-n", "default",
		sim.TraceContextAnnotation+"=forward").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	from := func(rev string) string {
		return "default/" + sandbox.DropsTraceContext + "@" + rev + " -> default/ratings@v1"
	}
	// A window short enough that v3's calls from before the change leave it soon.
	var states map[string]string
	var last run
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		last = kubectl(t, path, sb, append([]string{"mesh", "traces", "-n", "default", "--check", "--window", "20s", "-o", "json"}, jaeger...)...)
		states = verdictStates(t, last)
		if states[from("v3")] == "propagates" && states[from("v2")] == "drops context" {
			break
		}
		time.Sleep(time.Second) // polling Jaeger through the plugin, not waiting on a guess
	}
	if states[from("v3")] != "propagates" || states[from("v2")] != "drops context" {
		t.Fatalf("--check after reviews-v3 forwards the context: %v\n%+v", states, last)
	}
	table := kubectl(t, path, sb, append([]string{"mesh", "traces", "-n", "default", "--check", "--window", "20s"}, jaeger...)...)
	if !strings.Contains(table.stdout, "default/reviews@v2 drops the trace context: make default/reviews@v2 copy traceparent") ||
		strings.Contains(table.stdout, "default/reviews@v3 drops") {
		t.Errorf("--check does not name reviews@v2 alone:\n%+v", table)
	}
}

// verdictStates reads traces --check -o json as "from -> to" -> state.
func verdictStates(t *testing.T, r run) map[string]string {
	t.Helper()
	var report struct {
		Hops []struct {
			Edge struct {
				From, To struct{ Service, Namespace, Revision string }
			}
			State string
		}
	}
	if r.code != 0 {
		return nil // no edge yet in the window
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("--check -o json: %v\n%s", err, r.stdout)
	}
	name := func(w struct{ Service, Namespace, Revision string }) string {
		return fmt.Sprintf("%s/%s@%s", w.Namespace, w.Service, w.Revision)
	}
	states := map[string]string{}
	for _, h := range report.Hops {
		states[name(h.Edge.From)+" -> "+name(h.Edge.To)] = h.State
	}
	return states
}
