package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
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
	params := url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	// GET, which the API server's service proxy allows with the "get services/proxy" our RBAC
	// grants; the queries are short enough for a URL.
	return p.get(ctx, "/api/v1/query?"+params.Encode(), func(resp *http.Response) error {
		err := decodeVector(resp.Body, each)
		var promErr *apiError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &promErr) && promErr.kind == "bad_data":
			return fmt.Errorf("Prometheus at %s rejected a query (HTTP %s): %s", p.Where, resp.Status, promErr.message)
		case errors.As(err, &promErr) && promErr.kind != "":
			return fmt.Errorf("Prometheus at %s answered with an error (%s, HTTP %s): %s", p.Where, promErr.kind, resp.Status, promErr.message)
		case errors.As(err, &promErr):
			return fmt.Errorf("Prometheus at %s answered HTTP %s: %s", p.Where, resp.Status, promErr.message)
		}
		return p.failed(resp.Request.Context(), fmt.Errorf("cannot read the answer of Prometheus at %s (HTTP %s): %v", p.Where, resp.Status, err))
	})
}

var errQueryTimedOut = errors.New("query timed out")

// get sends one GET to Prometheus's API, bounded by the timeout, and hands a JSON answer to
// read; an answer that is not JSON is an error that quotes it.
func (p *Prometheus) get(ctx context.Context, path string, read func(*http.Response) error) error {
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, p.timeout, errQueryTimedOut)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	if err != nil {
		return fmt.Errorf("Prometheus at %s: %v", p.Where, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return p.failed(ctx, fmt.Errorf("cannot reach Prometheus at %s: %v\n(check that it is up, or pass --prometheus-url)", p.Where, err))
	}
	defer resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return p.failed(ctx, fmt.Errorf("Prometheus at %s answered HTTP %s, not its API's JSON: %q\n(is it Prometheus? check the URL, or pass --prometheus-url)", p.Where, resp.Status, bytes.TrimSpace(start)))
	}
	return read(resp)
}

// failed says why a request failed when the reason is the clock or the user, not Prometheus.
func (p *Prometheus) failed(ctx context.Context, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), errQueryTimedOut):
		return fmt.Errorf("Prometheus at %s did not answer within %s (--request-timeout)", p.Where, p.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("interrupted while waiting for Prometheus at %s", p.Where)
	}
	return err
}

// HasIstioMetrics tells whether Prometheus holds any of Istio's standard metrics between
// from and to, asking for one series (limit=1, which Prometheus 3 honours): a quiet namespace
// in a large mesh costs an index lookup, not a read of every series.
func (p *Prometheus) HasIstioMetrics(ctx context.Context, from, to time.Time) (bool, error) {
	params := url.Values{
		"match[]": {"istio_requests_total", "istio_tcp_sent_bytes_total"},
		"start":   {strconv.FormatInt(from.Unix(), 10)},
		"end":     {strconv.FormatInt(to.Unix(), 10)},
		"limit":   {"1"},
	}
	var found bool
	err := p.get(ctx, "/api/v1/series?"+params.Encode(), func(resp *http.Response) error {
		var body struct {
			Status string            `json:"status"`
			Error  string            `json:"error"`
			Data   []json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return p.failed(resp.Request.Context(), fmt.Errorf("cannot read the answer of Prometheus at %s (HTTP %s): %v", p.Where, resp.Status, err))
		}
		if body.Status != "success" {
			return fmt.Errorf("Prometheus at %s answered with an error (HTTP %s): %s", p.Where, resp.Status, body.Error)
		}
		found = len(body.Data) > 0
		return nil
	})
	return found, err
}
