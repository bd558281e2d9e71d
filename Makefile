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

BIN := $(CURDIR)/bin
CONTROL_PLANE := $(BIN)/control-plane-$(KUBE_VERSION)-etcd-$(ETCD_VERSION)
KUBE_APISERVER := $(CONTROL_PLANE)/kube-apiserver
KUBE_CONTROLLER_MANAGER := $(CONTROL_PLANE)/kube-controller-manager
KUBECTL := $(CONTROL_PLANE)/kubectl
ETCD := $(CONTROL_PLANE)/etcd
HELM := $(BIN)/helm-$(HELM_VERSION)/helm
DEVGATE := $(BIN)/devgate

# The tests find the control plane here (envtest reads KUBEBUILDER_ASSETS too).
export DEVGATE_ASSETS := $(CONTROL_PLANE)
export KUBEBUILDER_ASSETS := $(CONTROL_PLANE)
export DEVGATE_HELM := $(HELM)

TOOL_LDFLAGS := -s -w
FUZZTIME ?= 30s

.PHONY: all
all: build

##@ Tools

.PHONY: tools
tools: $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBECTL) $(ETCD) $(HELM) ## Build the control plane and helm from Go modules (once per version)
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

##@ Build

.PHONY: build
build: ## Build bin/devgate
	$(GO) build -o $(DEVGATE) ./cmd/devgate

##@ Test

.PHONY: test
test: tools vet test-unit test-integration ## Everything CI runs: vet, unit and fuzz-seed tests, integration tests through a real API server

.PHONY: vet
vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# Unit tests include every fuzz target's committed seed corpus.
.PHONY: test-unit
test-unit:
	$(GO) test -count=1 ./policies/... ./webhook/... ./internal/check/... ./cmd/...

.PHONY: test-integration
test-integration: tools ## Tests through a real kube-apiserver (envtest + kube-controller-manager)
	$(GO) test -count=1 -timeout 20m ./internal/...

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 30s) each
	@for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "fuzz: $$pkg $$target"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

.PHONY: bench
bench: ## Run the benchmarks (figures go to docs/benchmarks.md)
	$(GO) test -run='^$$' -bench=. -benchmem ./...

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
