// Command promql prints an instant PromQL query's result as a table, for the demo:
//
//	go run ./hack/promql 'sum by (destination_workload) (rate(istio_requests_total[30s]))'
//
// Prometheus is $MESH_PROMETHEUS_URL.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

func main() {
	if len(os.Args) != 2 || os.Getenv("MESH_PROMETHEUS_URL") == "" {
		fmt.Fprintln(os.Stderr, "usage: MESH_PROMETHEUS_URL=http://... promql QUERY")
		os.Exit(2)
	}
	resp, err := http.Get(os.Getenv("MESH_PROMETHEUS_URL") + "/api/v1/query?query=" + url.QueryEscape(os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "promql:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	var body struct {
		Status, Error string
		Data          struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		fmt.Fprintln(os.Stderr, "promql:", err, body.Error)
		os.Exit(1)
	}
	var lines []string
	for _, r := range body.Data.Result {
		keys := make([]string, 0, len(r.Metric))
		for k := range r.Metric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var cols []string
		for _, k := range keys {
			cols = append(cols, r.Metric[k])
		}
		lines = append(lines, strings.Join(cols, "\t")+"\t"+fmt.Sprint(r.Value[1]))
	}
	sort.Strings(lines)
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	tw.Flush()
}
