package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Query runs one instant query and returns its vector.
func (p *Prometheus) Query(ctx context.Context, query string, at time.Time) (model.Vector, error) {
	var vector model.Vector
	err := p.stream(ctx, query, at, func(m model.Metric, v float64) {
		vector = append(vector, &model.Sample{Metric: maps.Clone(m), Value: model.SampleValue(v)})
	})
	return vector, err
}

// stream runs one instant query and hands each sample of its vector to each as it is
// decoded, so that a large answer is never held whole, neither as bytes nor as samples. The
// metric passed to each is reused: each copies what it keeps.
func (p *Prometheus) stream(ctx context.Context, query string, at time.Time, each func(model.Metric, float64)) error {
	params := thanosParams(url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}})
	// GET, which the API server's service proxy allows with the "get services/proxy" our RBAC
	// grants; the queries are short enough for a URL.
	return p.get(ctx, "/api/v1/query?"+params.Encode(), prometheusHint, func(resp *http.Response) error {
		warnings, err := decodeAnswer(resp.Body, each)
		var promErr *apiError
		switch {
		case err == nil:
			return p.warned(warnings)
		case errors.As(err, &promErr) && promErr.kind == "bad_data":
			return fmt.Errorf("Prometheus at %s rejected a query (HTTP %s): %s", p.Where, resp.Status, promErr.message)
		case errors.As(err, &promErr) && promErr.kind != "":
			return fmt.Errorf("Prometheus at %s answered with an error (%s, HTTP %s): %s", p.Where, promErr.kind, resp.Status, promErr.message)
		case errors.As(err, &promErr):
			return fmt.Errorf("Prometheus at %s answered HTTP %s: %s", p.Where, resp.Status, promErr.message)
		}
		return p.failed(resp.Request.Context(), fmt.Errorf("cannot read the answer of Prometheus at %s (HTTP %s): %s", p.Where, resp.Status, unreadable(err)))
	})
}

// HasIstioMetrics tells whether Prometheus holds any of Istio's standard metrics between
// from and to, asking for one series (limit=1, which Prometheus 3 honours): a quiet namespace
// in a large mesh costs an index lookup, not a read of every series.
func (p *Prometheus) HasIstioMetrics(ctx context.Context, from, to time.Time) (bool, error) {
	params := thanosParams(url.Values{
		"match[]": {"istio_requests_total", "istio_tcp_sent_bytes_total"},
		"start":   {strconv.FormatInt(from.Unix(), 10)},
		"end":     {strconv.FormatInt(to.Unix(), 10)},
		"limit":   {"1"},
	})
	var found bool
	err := p.get(ctx, "/api/v1/series?"+params.Encode(), prometheusHint, func(resp *http.Response) error {
		var body struct {
			Status   string            `json:"status"`
			Error    string            `json:"error"`
			Data     []json.RawMessage `json:"data"`
			Warnings []string          `json:"warnings"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return p.failed(resp.Request.Context(), fmt.Errorf("cannot read the answer of Prometheus at %s (HTTP %s): %s", p.Where, resp.Status, unreadable(err)))
		}
		if body.Status != "success" {
			return fmt.Errorf("Prometheus at %s answered with an error (HTTP %s): %s", p.Where, resp.Status, body.Error)
		}
		found = len(body.Data) > 0
		if found {
			// One series is the whole question: a truncated (limit=1) or partial answer that
			// holds one still answers it.
			return nil
		}
		return p.warned(slices.DeleteFunc(body.Warnings, func(w string) bool { return strings.HasPrefix(w, "results truncated due to limit") }))
	})
	return found, err
}
