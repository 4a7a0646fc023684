package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcluster"
)

// scrapeConfig is a Prometheus that scrapes the sidecars listed in targets (file-based
// discovery), every scrape. A cluster's own Prometheus carries its cluster as an external
// label, as production ones do so that their series stay apart once federated.
func scrapeConfig(scrape time.Duration, targets, cluster string) string {
	external := ""
	if cluster != "" {
		external = fmt.Sprintf("  external_labels:\n    cluster: %q\n", cluster)
	}
	return fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
%sscrape_configs:
- job_name: envoy-stats
  file_sd_configs:
  - files: [%q]
    refresh_interval: 1s
`, scrape, scrape, external, targets)
}

// federateConfig is the mesh-wide Prometheus of Istio's production monitoring guide: it
// federates the Istio series of each cluster's Prometheus, keeping their labels as they are
// (honor_labels), so source_cluster and destination_cluster survive.
func federateConfig(scrape time.Duration, prometheusURLs []string) string {
	var hosts []string
	for _, u := range prometheusURLs {
		hosts = append(hosts, fmt.Sprintf("%q", strings.TrimPrefix(u, "http://")))
	}
	return fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
- job_name: federate-istio
  honor_labels: true
  metrics_path: /federate
  params:
    'match[]': ['{__name__=~"istio_.*"}']
  static_configs:
  - targets: [%s]
`, scrape, scrape, strings.Join(hosts, ", "))
}

// runPrometheus starts a Prometheus with config in dir (prometheus.yml, prometheus.log,
// prometheus-data) on a free loopback port, stopped by Stop, and returns its URL once it
// listens. A Prometheus that exits first is started again on another port: another process
// may take the port between our pick and its bind (tests run side by side).
func (s *Sandbox) runPrometheus(binDir, dir, config string) (string, error) {
	bin := filepath.Join(binDir, "prometheus")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("prometheus not found in %s: build it with `hack/build-test-components.sh prometheus`", binDir)
	}
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return "", err
	}
	var err error
	for range 3 {
		var url string
		var stop func()
		if url, stop, err = startPrometheus(bin, dir, configFile); err == nil {
			s.stop = append(s.stop, stop)
			return url, nil
		}
		if !errors.Is(err, errExitedEarly) {
			return "", err
		}
	}
	return "", err
}

// errExitedEarly is a component that exited before it answered, e.g. for want of its port.
var errExitedEarly = errors.New("exited before it answered")

// startPrometheus runs one Prometheus and waits until it answers HTTP.
func startPrometheus(bin, dir, configFile string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+addr,
		"--storage.tsdb.retention.time=1d",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	testcluster.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", nil, fmt.Errorf("starting prometheus: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); <-exited }
	url := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for !up(ctx, url+"/-/ready") {
		select {
		case <-exited:
			return "", nil, fmt.Errorf("prometheus %w (log: %s)", errExitedEarly, logFile.Name())
		case <-ctx.Done():
			stop()
			return "", nil, fmt.Errorf("prometheus did not answer within a minute (log: %s)", logFile.Name())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return url, stop, nil
}

// Query evaluates an instant PromQL query that yields one number (0 when it yields nothing).
func (s *Sandbox) Query(ctx context.Context, promql string) (float64, error) {
	return s.QueryAt(ctx, promql, time.Now())
}

// QueryAt is Query evaluated at an instant.
func (s *Sandbox) QueryAt(ctx context.Context, promql string, at time.Time) (float64, error) {
	return QueryURL(ctx, s.PrometheusURL, promql, at)
}

// QueryURL evaluates an instant PromQL query that yields one number (0 when it yields
// nothing) on the Prometheus at base, e.g. a Member's or the global one.
func QueryURL(ctx context.Context, base, promql string, at time.Time) (float64, error) {
	q := url.Values{"query": {promql}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, errors.New(body.Error)
	}
	if len(body.Data.Result) == 0 {
		return 0, nil
	}
	var v float64
	_, err = fmt.Sscan(fmt.Sprint(body.Data.Result[0].Value[1]), &v)
	return v, err
}
