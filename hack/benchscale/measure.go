package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startPrometheus serves the backfilled blocks in dataDir; stop ends it.
func startPrometheus(ctx context.Context, bin, dataDir string) (baseURL string, stop func(), err error) {
	config := filepath.Join(dataDir, "..", "prometheus.yml")
	if err := os.WriteFile(config, []byte("global: {}\n"), 0o644); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.Create(filepath.Join(dataDir, "..", "prometheus.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+dataDir,
		"--storage.tsdb.retention.time=100y", "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	stop = func() { _ = cmd.Process.Signal(os.Interrupt); <-exited }
	baseURL = "http://" + addr
	// Readiness is Prometheus's own /-/ready; a harness may poll it.
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			last, _ := os.ReadFile(logFile.Name())
			lines := strings.Split(strings.TrimSpace(string(last)), "\n")
			return "", nil, fmt.Errorf("prometheus exited (%s); see %s", lines[len(lines)-1], logFile.Name())
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(baseURL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return baseURL, stop, nil
			}
		}
	}
	stop()
	return "", nil, fmt.Errorf("prometheus not ready after 5m; see %s", logFile.Name())
}

// edgeLabels group the floor's queries: one result per edge and reporter, as the graph's.
const edgeLabels = "reporter, source_workload, source_workload_namespace, source_app, source_version, source_cluster, " +
	"destination_workload, destination_workload_namespace, destination_app, destination_version, destination_cluster, destination_service, request_protocol"

// floorQueries are the five queries any graph of the mesh needs (request rate, TCP bytes sent
// and received, p50 and p99, by edge); scoped to namespace's edges when it is set.
func floorQueries(namespace, window string) []string {
	selectors := func(metric string) string {
		if namespace == "" {
			return fmt.Sprintf("rate(%s[%s])", metric, window)
		}
		return fmt.Sprintf("rate(%s{destination_workload_namespace=%q}[%s]) or rate(%s{source_workload_namespace=%q}[%s])",
			metric, namespace, window, metric, namespace, window)
	}
	sum := func(metric, extra string) string {
		return fmt.Sprintf("sum by (%s%s) (%s)", edgeLabels, extra, selectors(metric))
	}
	return []string{
		sum("istio_requests_total", ""),
		sum("istio_tcp_sent_bytes_total", ""),
		sum("istio_tcp_received_bytes_total", ""),
		fmt.Sprintf("histogram_quantile(0.5, %s)", sum("istio_request_duration_milliseconds_bucket", ", le")),
		fmt.Sprintf("histogram_quantile(0.99, %s)", sum("istio_request_duration_milliseconds_bucket", ", le")),
	}
}

// floor sends queries in parallel, straight to Prometheus, and reads every answer whole: the
// least any client can spend. It returns how many series came back.
func floor(ctx context.Context, baseURL string, queries []string, at time.Time) (int, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    int
		firstErr error
	)
	for _, q := range queries {
		wg.Go(func() {
			n, err := instantQuery(ctx, baseURL, q, at)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return total, firstErr
}

func instantQuery(ctx context.Context, baseURL, query string, at time.Time) (int, error) {
	form := url.Values{"query": {query}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/query", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", query, body.Error)
	}
	return len(body.Data.Result), nil
}

// run is one timed run of the graph plugin.
type run struct {
	wall   time.Duration
	maxRSS int64 // bytes
	output []byte
}

func runGraph(ctx context.Context, bin, baseURL string, at time.Time, args ...string) (run, error) {
	args = append([]string{"graph", "-o", "json", "--prometheus-url", baseURL, "--time", at.UTC().Format(time.RFC3339)}, args...)
	// No cluster: the graph is drawn from Prometheus alone, without the PeerAuthentication check.
	return runPlugin(ctx, bin, os.DevNull, args...)
}

// runPlugin runs the plugin once with a kubeconfig, timing it and reading its peak RSS.
func runPlugin(ctx context.Context, bin, kubeconfig string, args ...string) (run, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return run{}, fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	var rss int64
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = usage.Maxrss * 1024 // kilobytes on Linux
	}
	return run{wall: wall, maxRSS: rss, output: stdout.Bytes()}, nil
}

// measurement is the median wall time of repeated runs, and the largest peak RSS.
type measurement struct {
	median time.Duration
	maxRSS int64
	series int
	output []byte
}

// repeat times fn runs times after one warm-up run.
func repeat(runs int, fn func() (run, error)) (measurement, error) {
	if _, err := fn(); err != nil {
		return measurement{}, err
	}
	var walls []time.Duration
	var m measurement
	for range runs {
		r, err := fn()
		if err != nil {
			return measurement{}, err
		}
		walls = append(walls, r.wall)
		m.maxRSS = max(m.maxRSS, r.maxRSS)
		m.output = r.output
	}
	slices.Sort(walls)
	m.median = walls[len(walls)/2]
	return m, nil
}

func measureFloor(ctx context.Context, runs int, baseURL string, queries []string, at time.Time) (measurement, error) {
	var series int
	m, err := repeat(runs, func() (run, error) {
		start := time.Now()
		n, err := floor(ctx, baseURL, queries, at)
		series = n
		return run{wall: time.Since(start)}, err
	})
	m.series = series
	return m, err
}

func measureGraph(ctx context.Context, runs int, bin, baseURL string, at time.Time, args ...string) (measurement, error) {
	return repeat(runs, func() (run, error) { return runGraph(ctx, bin, baseURL, at, args...) })
}
