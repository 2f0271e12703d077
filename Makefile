# registrar-operator: a SIP registrar on Kubernetes.
#   make dev    the whole system on this machine (control plane, operator, registrar)
#   make test   every test, against a real kube-apiserver, etcd, SIPp and real clients

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
GOLANGCI_KAL ?= $(LOCALBIN)/golangci-kal
HELM ?= $(LOCALBIN)/helm
CRANE ?= $(LOCALBIN)/crane
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.22.0
CRANE_VERSION ?= v0.22.1
# The image the chart runs by default: its repository and appVersion.
APP_VERSION := $(shell sed -n 's/^appVersion: *"*\([^"]*\)"*$$/\1/p' charts/registrar-operator/Chart.yaml)
IMG ?= ghcr.io/voipbin/registrar-operator:$(APP_VERSION)
IMAGE_TAR ?= $(LOCALBIN)/image.tar

# The test control plane: built from Go modules once per machine, cached outside the clone.
ENVTEST_ASSETS = $(shell hack/envtest-assets.sh)
# kubectl, built beside them from the same Kubernetes release.
KUBECTL ?= $(ENVTEST_ASSETS)/kubectl

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

SIP_ADDRESS ?= 127.0.0.1:5060
SIP_TLS_ADDRESS ?= 127.0.0.1:5061
SIP_WS_ADDRESS ?= 127.0.0.1:5066
SIP_WSS_ADDRESS ?= 127.0.0.1:7443

.PHONY: dev
dev: envtest ## Run the whole system locally: control plane, operator, registrar on $(SIP_ADDRESS), TLS on $(SIP_TLS_ADDRESS), WS and WSS on $(SIP_WS_ADDRESS) and $(SIP_WSS_ADDRESS), samples applied.
	go build -o "$(LOCALBIN)/" ./cmd/operator ./cmd/registrar ./hack/dev
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" KUBECTL="$(KUBECTL)" exec "$(LOCALBIN)/dev" -sip-address=$(SIP_ADDRESS) -sip-tls-address=$(SIP_TLS_ADDRESS) -sip-ws-address=$(SIP_WS_ADDRESS) -sip-wss-address=$(SIP_WSS_ADDRESS) $(DEV_ARGS)

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs and RBAC into config/.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases
	@$(MAKE) --no-print-directory chart-crds

.PHONY: chart-crds
chart-crds: ## Copy the generated CRDs and operator RBAC into the Helm chart (make manifests runs it).
	rm -f charts/registrar-operator/files/crds/*.yaml
	cp config/crd/bases/*.yaml charts/registrar-operator/files/crds/
	cp config/rbac/role.yaml charts/registrar-operator/files/manager-role.yaml

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt",year=2026 paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: envtest
envtest: ## Build (once) the kube-apiserver, etcd and kubectl the tests and make dev use.
	@hack/envtest-assets.sh >/dev/null

.PHONY: sipp
sipp: ## Install SIPp (Debian package sip-tester) when it is missing, and SIPp with TLS (trixie's, into bin/sipp-tls).
	@hack/ensure-sipp.sh

.PHONY: clients
clients: ## Install the real clients the tests drive when missing: baresip, linphonec, Chromium, Node.js and JsSIP.
	@hack/ensure-clients.sh

.PHONY: test
test: manifests generate vet envtest sipp clients helm crane ## Run every test against a real control plane, SIPp and real clients.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" HELM="$(HELM)" KUBECTL="$(KUBECTL)" CRANE="$(CRANE)" go test ./... -count=1 -timeout 30m
	@$(MAKE) --no-print-directory test-race

# The packages whose goroutines share state, and the registrar's integration tests
# that drive them together (SIP in and out, informers, status writes).
RACE_PACKAGES ?= ./registrar/ ./registrar/udpfront/ ./registrar/location/ ./registrar/status/ \
	./registrar/digest/ ./registrar/throttle/ ./registrar/proxy/ ./registrar/directory/ \
	./registrar/netguard/ ./registrar/register/ ./registrar/tlsserve/ ./registrar/wsserve/ ./registrar/streamserve/

.PHONY: test-race
test-race: envtest sipp clients ## Run the concurrent packages' tests under the race detector (make test runs it).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test -race $(RACE_PACKAGES) -count=1 -timeout 20m

.PHONY: bench
bench: envtest sipp ## SIP throughput at stepped rates with SIPp (BENCH_ARGS="--vs kamailio" to compare); see hack/bench/README.md.
	go build -o "$(LOCALBIN)/bench" ./hack/bench
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" "$(LOCALBIN)/bench" $(BENCH_ARGS)

.PHONY: bench-scale
bench-scale: envtest ## The control loop at 10,000 Extensions against the real API server (BENCH_ARGS to change).
	go build -o "$(LOCALBIN)/bench" ./hack/bench
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" "$(LOCALBIN)/bench" scale $(BENCH_ARGS)

.PHONY: bench-tls
bench-tls: envtest ## REGISTER with digest over TLS and WSS (new and kept connections), and memory per idle connection at 10,000 (BENCH_ARGS to change).
	go build -o "$(LOCALBIN)/bench" ./hack/bench
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" "$(LOCALBIN)/bench" tls $(BENCH_ARGS)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s).
	hack/fuzz.sh

.PHONY: lint
lint: golangci-lint ## Run golangci-lint, then kube-api-linter over the API types.
	"$(GOLANGCI_LINT)" run
	@$(MAKE) --no-print-directory lint-api

.PHONY: lint-api
lint-api: golangci-kal ## Check the API types against the Kubernetes API conventions (kube-api-linter, .golangci-kal.yml).
	"$(GOLANGCI_KAL)" run -c .golangci-kal.yml ./api/...

##@ End to end

# The rest of a single-node cluster, built beside kube-apiserver and cached the same way.
E2E_KUBE = kube-controller-manager kube-scheduler kubelet kube-proxy
PAUSE_TAR = $(LOCALBIN)/e2e-pause.tar

.PHONY: e2e
e2e: envtest sipp helm image ## Our image and chart on a single-node Kubernetes started here (root; containerd from Debian).
	hack/ensure-cluster-deps.sh
	CRANE="$(CRANE)" hack/image.sh "$(PAUSE_TAR)" registrar-e2e.local/pause:1 ./hack/e2e/pause
	E2E_ASSETS="$$(hack/envtest-assets.sh $(E2E_KUBE))" E2E_IMAGES="$(PAUSE_TAR) $(IMAGE_TAR)" E2E_IMG="$(IMG)" \
		HELM="$(HELM)" go test -tags e2e ./hack/e2e -count=1 -v -timeout 60m $(E2E_ARGS)

##@ Build

.PHONY: build
build: ## Build the operator and registrar binaries into bin/.
	go build -o $(LOCALBIN)/operator ./cmd/operator
	go build -o $(LOCALBIN)/registrar ./cmd/registrar

.PHONY: image
image: crane ## Build the image ($(IMG)) into $(IMAGE_TAR) without Docker: static binaries, empty base, user 65532.
	CRANE="$(CRANE)" hack/image.sh "$(IMAGE_TAR)" "$(IMG)" ./cmd/operator ./cmd/registrar

.PHONY: image-push
image-push: image ## Push $(IMAGE_TAR) to the registry IMG names.
	"$(CRANE)" push "$(IMAGE_TAR)" "$(IMG)"

##@ Tools

$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

.PHONY: controller-gen
controller-gen: $(LOCALBIN)
	@test -x "$(CONTROLLER_GEN)" && "$(CONTROLLER_GEN)" --version | grep -q $(CONTROLLER_TOOLS_VERSION) || \
		GOBIN="$(LOCALBIN)" go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: golangci-lint
golangci-lint: $(LOCALBIN)
	@test -x "$(GOLANGCI_LINT)" || GOBIN="$(LOCALBIN)" go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# golangci-lint with kube-api-linter built in, from hack/tools/kal (its go.mod pins
# both); rebuilt only when that module changes.
.PHONY: golangci-kal
golangci-kal: $(GOLANGCI_KAL)
$(GOLANGCI_KAL): hack/tools/kal/go.mod hack/tools/kal/go.sum hack/tools/kal/main.go | $(LOCALBIN)
	go build -C hack/tools/kal -o "$(GOLANGCI_KAL)" .

.PHONY: helm
helm: $(LOCALBIN)
	@test -x "$(HELM)" || GOBIN="$(LOCALBIN)" go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

.PHONY: crane
crane: $(LOCALBIN)
	@test -x "$(CRANE)" && "$(CRANE)" version | grep -q $(CRANE_VERSION:v%=%) || \
		GOBIN="$(LOCALBIN)" go install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)
