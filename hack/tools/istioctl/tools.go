//go:build tools

// Package tools pins istioctl, built by hack/build-test-components.sh.
package tools

import (
	_ "istio.io/istio/istioctl/cmd/istioctl"
)
