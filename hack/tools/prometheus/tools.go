//go:build tools

// Package tools pins Prometheus and promtool (which backfills the scale benchmark's
// telemetry), built by hack/build-test-components.sh.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
