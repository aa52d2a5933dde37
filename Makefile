# orgaccess — see README.md. Tools are pinned and installed into ./bin.

CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

# go test flags; `make test TESTFLAGS=-v` for more output.
TESTFLAGS ?=

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

.PHONY: all
all: build

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the markers.
	$(CONTROLLER_GEN) crd rbac:roleName=manager-role paths="./api/..." paths="./controllers/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: verify-gen
verify-gen: generate manifests ## Fail when generated files differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api config)" ]; then \
		echo "Generated files are stale; run 'make generate manifests' and commit:"; \
		git status --porcelain -- api config; git diff --stat -- api config; exit 1; fi

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (the operator and the image tool, hack/image).
	$(GOLANGCI_LINT) run ./...
	cd hack/image && $(GOLANGCI_LINT) run ./...

.PHONY: envtest
envtest: ## Print the directory of the envtest binaries (kube-apiserver, etcd, kubectl), building them once per machine.
	@hack/envtest.sh

.PHONY: test
test: generate manifests vet ## Run every test: engine, envtest (real kube-apiserver and etcd), e2e and the image build.
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go test $(TESTFLAGS) ./...
	cd hack/image && go test $(TESTFLAGS) ./...

# Scale harness size: small (default, under 5 minutes) or full (10,101 organizations).
SCALE_SIZE ?= small
SCALE_FLAGS ?=

.PHONY: scale
scale: ## Measure convergence, restart, incremental changes and memory (SCALE_SIZE=small|full; docs/performance.md).
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" go run ./test/scale -size=$(SCALE_SIZE) $(SCALE_FLAGS)

##@ Build and run

.PHONY: build
build: generate ## Build the manager and the kubectl-orgaccess plugin into ./bin.
	go build -o $(LOCALBIN)/ ./cmd/manager ./cmd/kubectl-orgaccess

# The manager's container image (hack/image, a module of its own): IMG names it,
# PLATFORMS are the platforms image-push publishes.
IMG ?= orgaccess:dev
PLATFORMS ?= linux/amd64,linux/arm64

.PHONY: image
image: ## Build the manager's image into bin/orgaccess-image.tar, no container engine needed (docker load -i).
	cd hack/image && go run . -source $(CURDIR) -tag $(IMG) -o $(LOCALBIN)/orgaccess-image.tar

# image-push and deploy publish or run IMG, so it must be named on the command line.
define require-img
	@if [ "$(origin IMG)" = file ]; then echo "make $@ needs IMG=<registry>/orgaccess:<tag>"; exit 1; fi
endef

.PHONY: image-push
image-push: ## Push a multi-platform image: make image-push IMG=<registry>/orgaccess:<tag>
	$(require-img)
	cd hack/image && go run . -source $(CURDIR) -platforms $(PLATFORMS) -push $(IMG)

.PHONY: deploy
deploy: ## Install orgaccess (config/default) in the kubeconfig's cluster with the image IMG: make deploy IMG=<registry>/orgaccess:<tag>
	$(require-img)
	hack/deploy.sh $(IMG)

.PHONY: run
run: manifests build ## Run the manager: against the kubeconfig's cluster, or a local control plane with the samples.
	hack/run.sh

##@ Tools

$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $@

$(GOLANGCI_LINT):
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $@
