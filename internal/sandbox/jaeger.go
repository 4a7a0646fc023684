package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// Jaeger is a running Jaeger v2 (cmd/jaeger) with in-memory storage: its query API and UI
// under /jaeger, as Istio's addon serves them, and its OTLP/HTTP receiver.
type Jaeger struct {
	QueryURL string // base of the UI and the HTTP JSON API, /jaeger included
	OTLPURL  string // OTLP/HTTP receiver; spans go to OTLPURL/v1/traces
	stop     func()
}

// Stop ends Jaeger and waits for it.
func (j *Jaeger) Stop() { j.stop() }

// StartJaeger runs binDir/jaeger on loopback ports, logging into dir, and returns once its
// query API answers. A Jaeger that exits first is started again on other ports: another
// process may take a port between our pick and its bind (tests run side by side).
func StartJaeger(ctx context.Context, binDir, dir string) (*Jaeger, error) {
	bin := filepath.Join(binDir, "jaeger")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("jaeger not found in %s: build it with `hack/build-test-components.sh jaeger`", binDir)
	}
	var err error
	for range 3 {
		var j *Jaeger
		if j, err = startJaeger(ctx, bin, dir); err == nil || !errors.Is(err, errExitedEarly) {
			return j, err
		}
	}
	return nil, err
}

func startJaeger(ctx context.Context, bin, dir string) (*Jaeger, error) {
	var ports [3]string // query HTTP, query gRPC, OTLP/HTTP
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[i] = l.Addr().String()
		l.Close()
	}
	config := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics: {level: none}
    traces: {level: none}
    logs: {level: warn}
extensions:
  jaeger_query:
    base_path: /jaeger
    enable_tracing: false
    storage: {traces: memstore}
    http: {endpoint: %q}
    grpc: {endpoint: %q}
  jaeger_storage:
    backends:
      memstore: {memory: {max_traces: 200000}}
receivers:
  otlp:
    protocols:
      http: {endpoint: %q}
processors:
  batch: {timeout: 100ms}
exporters:
  jaeger_storage_exporter: {trace_storage: memstore}
`, ports[0], ports[1], ports[2])
	configFile := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "jaeger.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", configFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	testcluster.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting jaeger: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	j := &Jaeger{QueryURL: "http://" + ports[0] + "/jaeger", OTLPURL: "http://" + ports[2], stop: func() { _ = cmd.Process.Signal(os.Interrupt); <-exited }}
	if err := j.waitReady(ctx, exited); err != nil {
		j.Stop()
		return nil, fmt.Errorf("%w (log: %s)", err, logFile.Name())
	}
	return j, nil
}

// waitReady polls the query API and the OTLP receiver until both answer.
func (j *Jaeger) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if up(ctx, j.QueryURL+"/api/services") && up(ctx, j.OTLPURL+"/v1/traces") {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("jaeger %w", errExitedEarly)
		case <-ctx.Done():
			return fmt.Errorf("jaeger's API did not answer within a minute")
		case <-tick.C:
		}
	}
}

// up tells whether url answers at all (any HTTP status: the OTLP receiver refuses a GET).
func up(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
