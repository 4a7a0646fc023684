package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// endpoint is an HTTP JSON API we read (Prometheus's, Jaeger's): where it is, how it was
// found (for messages), and how long each request may take.
type endpoint struct {
	name    string // "Prometheus", "Jaeger"
	flag    string // the flag that names it, for hints
	url     string // the API's root, without a trailing slash
	client  *http.Client
	timeout time.Duration // per request; 0: none
	Where   string        // "--prometheus-url http://...", "service istio-system/prometheus (through the API server)"
}

var errTimedOut = errors.New("request timed out")

// get sends one GET, bounded by the timeout, and hands a JSON answer to read; an answer that
// is not JSON is an error that quotes it, with hint saying what to check.
func (e *endpoint) get(ctx context.Context, path, hint string, read func(*http.Response) error) error {
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.timeout, errTimedOut)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+path, nil)
	if err != nil {
		return fmt.Errorf("%s at %s: %v", e.name, e.Where, err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return e.failed(ctx, fmt.Errorf("cannot reach %s at %s: %v\n(check that it is up, or pass %s)", e.name, e.Where, err, e.flag))
	}
	defer resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return e.failed(ctx, fmt.Errorf("%s at %s answered HTTP %s, not its API's JSON: %q\n(%s)", e.name, e.Where, resp.Status, bytes.TrimSpace(start), hint))
	}
	return read(resp)
}

// failed says why a request failed when the reason is the clock or the user, not the server.
func (e *endpoint) failed(ctx context.Context, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), errTimedOut):
		return fmt.Errorf("%s at %s did not answer within %s (--request-timeout)", e.name, e.Where, e.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("interrupted while waiting for %s at %s", e.name, e.Where)
	}
	return err
}
