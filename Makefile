# kubectl-mesh: `make build` builds the four plugins into bin/, `make test` runs the unit
# tests and the end-to-end tests against a real kube-apiserver + etcd (built once into .cache/).

GO      ?= go
PKG     := github.com/kubectl-mesh/kubectl-mesh
# A semantic version, as krew requires: the tag, else a development version of the commit.
VERSION ?= $(shell git describe --tags --match 'v*' 2>/dev/null || echo "v0.1.0-dev.g$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(PKG)/pkg/version.version=$(VERSION) -X $(PKG)/pkg/version.commit=$(COMMIT)
PLUGINS := kubectl-mesh kubectl-mesh_canary kubectl-mesh_lockdown kubectl-mesh_graph kubectl-mesh_traces kubectl-mesh_doctor kubectl-mesh_why kubectl-mesh_what_if

# The end-to-end tests use the kubectl on PATH; a machine without one gets it built from the
# same Kubernetes release as the test API server.
KUBECTL_PATH := $(if $(shell command -v kubectl),,$(CURDIR)/.cache/kubectl:)

.PHONY: all build install test unit fuzz-short fuzz e2e test-components lint bench bench-scale dist krew-check sandbox demo clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

install:
	$(GO) install -trimpath -ldflags "$(LDFLAGS)" ./cmd/...

# unit, fuzz-short, test-components and e2e in turn, then how long each stage took (also on
# failure). test/e2e and test/sandbox start clusters of their own: they run side by side.
test:
	GO="$(GO)" hack/test.sh

unit:
	$(GO) test ./...

e2e: test-components
	PATH="$(KUBECTL_PATH)$$PATH" $(GO) test -tags e2e -count=1 -timeout 30m -p 2 ./test/...

# The mesh sandbox: bookinfo on a real API server, Prometheus, Jaeger, simulated sidecars. Prints the
# KUBECONFIG, MESH_PROMETHEUS_URL and MESH_JAEGER_URL to export, runs until Ctrl-C.
# CLUSTERS=2: a mesh of two clusters (contexts east and west, a Prometheus each, a global one).
# Built, then run as make's own child (no shell, no go run in between), so that Ctrl-C or a
# SIGTERM to make reaches it and it stops everything it started.
sandbox: test-components
	$(GO) build -o .cache/sandbox ./hack/sandbox
	.cache/sandbox -clusters $(or $(CLUSTERS),1)

# The Istio tutorial with kubectl mesh, in the sandbox, start to finish, then the same mesh over
# two clusters. CLUSTERS=1 or CLUSTERS=2 runs only that part.
demo: build test-components
	PATH="$(KUBECTL_PATH)$$PATH" CLUSTERS="$(CLUSTERS)" hack/demo.sh

# Every fuzz target for a few seconds (part of make test), or FUZZTIME each (make fuzz).
fuzz-short:
	hack/fuzz.sh 3s

FUZZTIME ?= 1m
fuzz:
	hack/fuzz.sh $(FUZZTIME)

test-components:
	hack/build-test-components.sh
	@if [ -n "$(KUBECTL_PATH)" ]; then hack/build-test-components.sh kubectl; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...
	$(GO) run ./hack/sizecheck -max-func 80 -max-file 400 pkg cmd

# Release archives for linux, darwin and windows on amd64 and arm64, checksums, and the krew
# manifests rendered from krew/ (PLATFORMS=linux/amd64 builds one platform).
dist:
	rm -rf dist
	$(GO) run ./hack/dist -version "$(VERSION)" -commit "$(COMMIT)" -out dist $(if $(PLATFORMS),-platforms $(PLATFORMS))

# krew's validator on every manifest, then krew installs each plugin from dist/.
krew-check:
	hack/krew-check.sh dist

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The graph at mesh scale: N namespaces of Istio-shaped telemetry, backfilled into a real
# Prometheus with promtool (kept in .cache/benchscale for later runs); prints graph -A and
# graph -n times beside their floors, the ratios and the plugin's peak RSS. CLUSTERS=2: graph
# --contexts over two clusters (an API server and a Prometheus each) beside each one alone.
N ?= 100
CLUSTERS ?= 1
bench-scale: build
	hack/build-test-components.sh prometheus promtool $(if $(filter 2,$(CLUSTERS)),etcd kube-apiserver)
	$(GO) run ./hack/benchscale -n $(N) -clusters $(CLUSTERS)

clean:
	rm -rf bin dist
