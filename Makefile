# devgate — build, test and run. Every tool a target needs is built here from
# Go modules and cached under bin/, keyed by version: only the first run pays.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
export GOFLAGS ?= -buildvcs=false

# Versions come from the tool modules' go.mod files: one place to bump them.
module_version = $(shell awk '{for (i = 1; i < NF; i++) if ($$i == "$(1)") {print $$(i+1); exit}}' $(2))
KUBE_VERSION := $(call module_version,k8s.io/kubernetes,hack/tools/kubernetes/go.mod)
ETCD_VERSION := $(call module_version,go.etcd.io/etcd/server/v3,hack/tools/etcd/go.mod)
HELM_VERSION := $(call module_version,helm.sh/helm/v4,hack/tools/helm/go.mod)
DEX_VERSION := $(call module_version,github.com/dexidp/dex,hack/tools/dex/go.mod)

BIN := $(CURDIR)/bin
CONTROL_PLANE := $(BIN)/control-plane-$(KUBE_VERSION)-etcd-$(ETCD_VERSION)
KUBE_APISERVER := $(CONTROL_PLANE)/kube-apiserver
KUBE_CONTROLLER_MANAGER := $(CONTROL_PLANE)/kube-controller-manager
KUBECTL := $(CONTROL_PLANE)/kubectl
ETCD := $(CONTROL_PLANE)/etcd
HELM := $(BIN)/helm-$(HELM_VERSION)/helm
DEX := $(BIN)/dex-$(DEX_VERSION)/dex
DEVGATE := $(BIN)/devgate

# The tests find the control plane here (envtest reads KUBEBUILDER_ASSETS too).
export DEVGATE_ASSETS := $(CONTROL_PLANE)
export KUBEBUILDER_ASSETS := $(CONTROL_PLANE)
export DEVGATE_HELM := $(HELM)
# The auth e2e tests sign in through this Dex.
export DEVGATE_DEX := $(DEX)

TOOL_LDFLAGS := -s -w
FUZZTIME ?= 30s
# make bench: where the figures go, and how many reviews (per server and
# concurrency) and API-server creates (per namespace) each comparison sends.
BENCH_OUT ?= $(BIN)/bench/bench.txt
BENCH_REVIEWS ?= 20000
BENCH_CREATES ?= 300
# Rounds of BenchmarkHostileLoad (10 s each: quiet, then one hostile client);
# BenchmarkHostileReviews runs as many reviews of each hostile object.
BENCH_HOSTILE_ROUNDS ?= 6
bench_go = $(GO) test -run='^$$' -count=1

.PHONY: all
all: build

##@ Tools

.PHONY: tools
tools: $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBECTL) $(ETCD) $(HELM) $(DEX) ## Build the control plane, helm and dex from Go modules (once per version)
	@echo "tools: all present in $(BIN)"

# kube-apiserver takes about 4 minutes on 2 cores; the three Kubernetes
# binaries share one build so their common packages compile once.
$(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBECTL) &: hack/tools/kubernetes/go.mod
	@echo "tools: building kube-apiserver, kube-controller-manager, kubectl $(KUBE_VERSION) (first run only, about 5 minutes)"
	@mkdir -p $(CONTROL_PLANE)
	cd hack/tools/kubernetes && $(GO) build -trimpath -ldflags="$(TOOL_LDFLAGS)" -o $(CONTROL_PLANE)/ \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
	@touch $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBECTL)

$(ETCD): hack/tools/etcd/go.mod hack/tools/etcd/main.go
	@echo "tools: building etcd $(ETCD_VERSION) (first run only, about 30 seconds)"
	@mkdir -p $(CONTROL_PLANE)
	cd hack/tools/etcd && $(GO) build -trimpath -ldflags="$(TOOL_LDFLAGS)" -o $(ETCD) .

$(HELM): hack/tools/helm/go.mod
	@echo "tools: building helm $(HELM_VERSION) (first run only, about 90 seconds)"
	@mkdir -p $(dir $(HELM))
	cd hack/tools/helm && $(GO) build -trimpath -ldflags="$(TOOL_LDFLAGS)" -o $(HELM) helm.sh/helm/v4/cmd/helm

# Dex v2.45.1: the proxy serves it under a commit pseudo-version only.
.PHONY: dex
dex: $(DEX) ## Build the Dex OpenID provider the auth e2e tests sign in through

$(DEX): hack/tools/dex/go.mod
	@echo "tools: building dex $(DEX_VERSION) (first run only, about 2 minutes)"
	@mkdir -p $(dir $(DEX))
	cd hack/tools/dex && $(GO) build -trimpath -ldflags="$(TOOL_LDFLAGS)" -o $(DEX) github.com/dexidp/dex/cmd/dex

##@ Build

.PHONY: build
build: ## Build bin/devgate
	$(GO) build -o $(DEVGATE) ./cmd/devgate

##@ Test

.PHONY: test
test: tools vet test-unit test-integration e2e ## Everything CI runs: vet, unit and fuzz-seed tests, integration tests through a real API server, the chart's e2e suite

.PHONY: vet
vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# Unit tests include every fuzz target's committed seed corpus, and the check
# that the files `make generate` writes are up to date.
.PHONY: test-unit
test-unit:
	$(GO) test -count=1 ./policies/... ./webhook/... ./internal/check/... ./internal/manifestgen/... ./cmd/... ./test/layout/...

.PHONY: test-integration
test-integration: tools nginx chromium ## Tests through a real kube-apiserver (envtest + kube-controller-manager)
	$(GO) test -count=1 -timeout 20m ./internal/... $$($(GO) list ./test/... | grep -v -e /test/e2e -e /test/layout)

# The auth service's e2e test runs a real nginx configured as ingress-nginx
# renders private endpoints; ingress-nginx's set_escape_uri comes from the
# set-misc module. Debian's packages, installed once; without root outside CI
# the test skips instead.
NGINX := /usr/sbin/nginx
NGINX_SET_MISC := /usr/lib/nginx/modules/ngx_http_set_misc_module.so

.PHONY: nginx
nginx: ## Install Debian's nginx and its set-misc module when missing (as root)
	@if [ -x $(NGINX) ] && [ -f $(NGINX_SET_MISC) ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "nginx: missing; as root: apt-get install nginx-light libnginx-mod-http-set-misc" >&2; \
		if [ -n "$${CI:-}" ]; then exit 1; fi; exit 0; \
	fi; \
	echo "nginx: installing Debian's nginx-light and libnginx-mod-http-set-misc"; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light libnginx-mod-http-set-misc

# The dashboard's browser test drives Debian's headless Chromium; without it
# outside CI the test skips instead.
CHROMIUM := /usr/bin/chromium

.PHONY: chromium
chromium: ## Install Debian's chromium when missing (as root), for the dashboard's browser test
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "chromium: missing; as root: apt-get install chromium" >&2; \
		if [ -n "$${CI:-}" ]; then exit 1; fi; exit 0; \
	fi; \
	echo "chromium: installing Debian's chromium"; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

# The README's pictures of the dashboard are the browser test's screenshots.
.PHONY: screenshots
screenshots: tools chromium ## Run the dashboard's browser test, writing its screenshots (PNG) into docs/images/
	SCREENSHOTS_DIR=$(CURDIR)/docs/images $(GO) test -count=1 -timeout 10m -run TestDashboardInTheBrowser ./test/browser/

# The chart installed with helm on the local control plane, devgate in-process
# behind its webhook.url mode; cert-manager's CRDs come from its Go module.
.PHONY: e2e
e2e: tools ## End-to-end suite: helm install/upgrade/uninstall of charts/devgate, admission through the chart's webhooks
	$(GO) test -count=1 -timeout 15m ./test/e2e/...

.PHONY: lint-chart
lint-chart: tools ## helm lint --strict the chart in each certificate mode, and build every kustomize base
	$(HELM) lint --strict charts/devgate
	$(HELM) lint --strict charts/devgate --set webhook.url=https://127.0.0.1:9443
	$(HELM) lint --strict charts/devgate --set webhook.certificate.source=secret,webhook.certificate.secretName=devgate-tls,webhook.caBundle=Cg==
	@for base in config/*/; do echo "kustomize $$base"; $(KUBECTL) kustomize $$base >/dev/null; done

# Packages with fuzz targets, found in the sources: listing them with
# `go test -list` would run every package's TestMain (e2e starts a cluster).
FUZZ_DIRS = $(sort $(dir $(shell grep -rl --include='*_test.go' '^func Fuzz' policies webhook internal cmd test)))

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 30s) each; `make test` runs their seed corpora
	@for dir in $(FUZZ_DIRS); do \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir*_test.go | cut -c6-); do \
			echo "fuzz: ./$$dir $$target for $(FUZZTIME)"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) ./$$dir; \
		done; \
	done

.PHONY: bench
bench: ## Run the benchmarks into bin/bench/bench.txt (figures and how to read them: docs/benchmarks.md)
	@mkdir -p $(dir $(BENCH_OUT))
	@echo "# $$(date -u +%FT%TZ) $$(nproc) cores, $$($(GO) env GOVERSION), load $$(cut -d' ' -f1-3 /proc/loadavg)" | tee $(BENCH_OUT)
	$(bench_go) -bench=. -benchmem ./policies/all ./internal/check | tee -a $(BENCH_OUT)
	$(bench_go) -bench='ServeHTTP|TokenIndex' -benchmem ./test/bench | tee -a $(BENCH_OUT)
	$(bench_go) -bench=AccessFlood -benchtime=3x ./internal/auth | tee -a $(BENCH_OUT)
	$(bench_go) -bench=BenchmarkPatch -benchmem -count=3 ./policies/engine | tee -a $(BENCH_OUT)
	$(bench_go) -bench=Webhook -benchtime=$(BENCH_REVIEWS)x ./test/bench | tee -a $(BENCH_OUT)
	$(bench_go) -bench=APIServerCreate -benchtime=$(BENCH_CREATES)x -timeout=30m ./test/bench | tee -a $(BENCH_OUT)
	$(bench_go) -bench=Hostile -benchmem -benchtime=$(BENCH_HOSTILE_ROUNDS)x ./test/bench | tee -a $(BENCH_OUT)

# bench-peers' binary peer of /auth/verify, built by hack/bench-peers.sh only.
OAUTH2_PROXY_VERSION ?= v7.15.6
OAUTH2_PROXY := $(BIN)/oauth2-proxy-$(OAUTH2_PROXY_VERSION)/oauth2-proxy
# Requests per side and concurrency of the /verify and nginx comparisons;
# PEERS selects the comparisons (kyverno, oauth2-proxy).
BENCH_VERIFY_REQUESTS ?= 20000
PEERS ?= kyverno oauth2-proxy

.PHONY: bench-peers
bench-peers: ## devgate check vs kyverno apply; /auth/verify vs oauth2-proxy and a private vs a public endpoint through nginx (builds the peers into bin/ once)
	OAUTH2_PROXY=$(OAUTH2_PROXY) OAUTH2_PROXY_VERSION=$(OAUTH2_PROXY_VERSION) VERIFY_REQUESTS=$(BENCH_VERIFY_REQUESTS) \
		PEERS="$(PEERS)" GO=$(GO) hack/bench-peers.sh

SOAK_DURATION ?= 10m
SOAK_RATE ?= 1000

.PHONY: soak
soak: ## Hold the webhook server at SOAK_RATE reviews/s for SOAK_DURATION on loopback; report errors and RSS
	$(GO) run ./hack/soak -duration $(SOAK_DURATION) -rate $(SOAK_RATE)

##@ Image

CONTAINER_ENGINE ?= $(shell command -v docker 2>/dev/null || command -v podman 2>/dev/null)
IMAGE ?= devgate:$(shell awk '/^appVersion:/ {gsub(/"/, "", $$2); print $$2}' charts/devgate/Chart.yaml)

.PHONY: image
image: ## Build the container image IMAGE (needs docker or podman)
	@if [ -z "$(CONTAINER_ENGINE)" ]; then echo "image: no container engine (docker or podman) on this machine; set CONTAINER_ENGINE"; exit 1; fi
	$(CONTAINER_ENGINE) build -t $(IMAGE) .

##@ Run

.PHONY: run
run: tools build ## Start a local control plane with devgate registered (Ctrl-C stops everything)
	$(DEVGATE) dev --config examples/config.yaml --dir .devgate --assets $(CONTROL_PLANE)

.PHONY: help
help:
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: readme
readme: ## Regenerate the README's rule table from policies/*/RULES.md
	$(GO) test ./policies/all -run TestReadmeRuleTable -update

.PHONY: generate
generate: ## Regenerate the chart's and config/'s webhook rules and matchConditions from webhook.Configurations
	$(GO) run ./hack/generate
