//go:build tools

// Package tools pins Prometheus, built by hack/build-test-components.sh.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
)
