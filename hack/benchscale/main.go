// Command benchscale measures `kubectl mesh graph` on a mesh of N namespaces against a real
// Prometheus: it generates Istio-shaped telemetry (bookinfo's five workloads and four edges
// per namespace), backfills it with promtool, serves it with Prometheus, then times graph -A
// and graph -n gen1 beside their floors (the five queries a graph needs, sent in parallel
// straight to Prometheus) and reports the ratios and the plugin's peak RSS.
//
//	go run ./hack/benchscale -n 100        (make bench-scale N=100)
//	go run ./hack/benchscale -n 100 -clusters 2   (make bench-scale N=100 CLUSTERS=2)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type options struct {
	namespaces int
	runs       int
	window     string
	components string // where prometheus and promtool are
	graph      string // the kubectl-mesh binary
	cache      string
	save       string
	clusters   int
}

func main() {
	var o options
	flag.IntVar(&o.namespaces, "n", 100, "namespaces in the generated mesh")
	flag.IntVar(&o.runs, "runs", 5, "timed runs of each measurement (after one warm-up); the median is reported")
	flag.StringVar(&o.window, "window", "5m", "the graph's --window")
	flag.StringVar(&o.components, "components", ".cache/bin", "directory holding prometheus and promtool")
	flag.StringVar(&o.graph, "graph", "bin/kubectl-mesh", "the kubectl-mesh binary to measure")
	flag.StringVar(&o.cache, "cache", ".cache/benchscale", "where generated meshes are kept, to be reused by later runs")
	flag.StringVar(&o.save, "save", "", "directory to write the graph's JSON output to (graph-A.json, graph-n.json)")
	flag.IntVar(&o.clusters, "clusters", 1, "1, or 2: graph --contexts over two clusters (two API servers, a Prometheus each) beside each cluster's graph alone")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if err := o.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}

func (o options) run(ctx context.Context) error {
	if o.namespaces < 1 {
		return errors.New("-n: at least one namespace")
	}
	switch o.clusters {
	case 1:
	case 2:
		return o.runTwoClusters(ctx)
	default:
		return fmt.Errorf("-clusters %d: 1 or 2", o.clusters)
	}
	dir := filepath.Join(o.cache, fmt.Sprintf("n%d", o.namespaces))
	at, series, err := o.prepare(ctx, dir, defaultCluster, time.Time{})
	if err != nil {
		return err
	}
	baseURL, stop, err := startPrometheus(ctx, filepath.Join(o.components, "prometheus"), filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	defer stop()

	var results [4]measurement
	steps := []func() (measurement, error){
		func() (measurement, error) {
			return measureGraph(ctx, o.runs, o.graph, baseURL, at, "-A", "--window", o.window)
		},
		func() (measurement, error) {
			return measureFloor(ctx, o.runs, baseURL, floorQueries("", o.window), at)
		},
		func() (measurement, error) {
			return measureGraph(ctx, o.runs, o.graph, baseURL, at, "-n", "gen1", "--window", o.window)
		},
		func() (measurement, error) {
			return measureFloor(ctx, o.runs, baseURL, floorQueries("gen1", o.window), at)
		},
	}
	for i, step := range steps {
		if results[i], err = step(); err != nil {
			return err
		}
	}
	if o.save != "" {
		if err := os.MkdirAll(o.save, 0o755); err != nil {
			return err
		}
		for name, out := range map[string][]byte{"graph-A.json": results[0].output, "graph-n.json": results[2].output} {
			if err := os.WriteFile(filepath.Join(o.save, name), out, 0o644); err != nil {
				return err
			}
		}
	}
	o.report(series, results)
	return nil
}

// prepare generates and backfills the mesh's telemetry into dir, ending at end (zero: this
// minute), unless an earlier run did (ending at end, when it is given);
// it returns the instant the data ends, where the graph is evaluated.
func (o options) prepare(ctx context.Context, dir, cluster string, end time.Time) (time.Time, int, error) {
	stampFile := filepath.Join(dir, "ready")
	if stamp, err := os.ReadFile(stampFile); err == nil {
		var unix int64
		var series int
		if _, err := fmt.Sscanf(string(stamp), "%d %d", &unix, &series); err == nil && (end.IsZero() || end.Unix() == unix) {
			fmt.Fprintf(os.Stderr, "reusing the mesh of %d namespaces in %s\n", o.namespaces, dir)
			return time.Unix(unix, 0), series, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return time.Time{}, 0, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return time.Time{}, 0, err
	}
	// A minute more than the window, at Istio's usual 15s scrape interval.
	window, err := time.ParseDuration(o.window)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("-window %q: %v", o.window, err)
	}
	if end.IsZero() {
		end = time.Now().Truncate(time.Minute)
	}
	start := end.Add(-window - time.Minute)
	m := generate(o.namespaces, cluster)
	input := filepath.Join(dir, "telemetry.om")
	f, err := os.Create(input)
	if err != nil {
		return time.Time{}, 0, err
	}
	began := time.Now()
	err = m.writeOpenMetrics(f, start, end, 15*time.Second)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return time.Time{}, 0, err
	}
	fmt.Fprintf(os.Stderr, "generated %d series in %s (%s)\n", m.series, time.Since(began).Round(time.Millisecond), input)
	began = time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(o.components, "promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet", input, filepath.Join(dir, "data"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return time.Time{}, 0, fmt.Errorf("promtool: %v", err)
	}
	fmt.Fprintf(os.Stderr, "backfilled with promtool in %s\n", time.Since(began).Round(time.Millisecond))
	if err := os.Remove(input); err != nil {
		return time.Time{}, 0, err
	}
	return end, m.series, os.WriteFile(stampFile, []byte(fmt.Sprintf("%d %d\n", end.Unix(), m.series)), 0o644)
}

func (o options) report(series int, r [4]measurement) {
	edges := 4 * o.namespaces
	fmt.Printf("mesh: %d namespaces, %d workloads, %d edges, %d series; window %s; %d runs each (median); %d cores, %s/%s\n\n",
		o.namespaces, 5*o.namespaces, edges, series, o.window, o.runs, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Println("| N | graph -A | floor (-A) | graph -n gen1 | floor (-n) | -n / -A | peak RSS -A | peak RSS -n |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	ratio := func(a, b time.Duration) string { return strconv.FormatFloat(float64(a)/float64(b), 'f', 2, 64) + "x" }
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s" }
	mib := func(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 0, 64) + " MiB" }
	fmt.Println("| " + strings.Join([]string{
		strconv.Itoa(o.namespaces),
		secs(r[0].median), fmt.Sprintf("%s (%s)", secs(r[1].median), ratio(r[0].median, r[1].median)),
		secs(r[2].median), fmt.Sprintf("%s (%s)", secs(r[3].median), ratio(r[2].median, r[3].median)),
		ratio(r[2].median, r[0].median), mib(r[0].maxRSS), mib(r[2].maxRSS)}, " | ") + " |")
}
