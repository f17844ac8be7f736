# Failover Operator. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CONTROL_PLANE_DIR := $(CURDIR)/.local/control-plane
NODE_DIR := $(CURDIR)/.local/node
NODES ?= 1
PUBLISH_DIR := $(CURDIR)/.local/publish
IMAGE ?= failover-operator:dev
KUBECONFIG ?= $(HOME)/.kube/config
# kubectl finds plugins on PATH: the program goes into a folder of its own (it is a .NET app, a
# dozen files), kubectl-hag into a bin folder as a link to it. Root: /usr/local; others: ~/.local.
KUBECTL_PLUGIN_PREFIX ?= $(if $(filter 0,$(shell id -u)),/usr/local,$(HOME)/.local)
KUBECTL_PLUGIN_DIR ?= $(KUBECTL_PLUGIN_PREFIX)/bin
KUBECTL_PLUGIN_LIB ?= $(KUBECTL_PLUGIN_PREFIX)/lib/kubectl-hag

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-20s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## Install what the tests need: apt packages, the control-plane binaries (first run builds them), helm, NuGet packages
	hack/control-plane.sh install --all
	hack/install-helm.sh >/dev/null
	dotnet restore Operator.sln

.PHONY: build
build: ## Build everything (Debug)
	dotnet build Operator.sln

.PHONY: test
test: setup ## Run all tests: unit, integration on a real kube-apiserver, chart, end-to-end, real node
	hack/test.sh

.PHONY: publish
publish: ## Publish the operator (Release) to .local/publish
	dotnet publish src/FailoverOperator -c Release -o $(PUBLISH_DIR) --nologo -v quiet

.PHONY: kubectl-plugin
kubectl-plugin: ## Build and install kubectl hag: PREFIX/lib/kubectl-hag/, linked as PREFIX/bin/kubectl-hag (PREFIX: root /usr/local, else ~/.local)
	dotnet publish src/KubectlHag -c Release -o $(KUBECTL_PLUGIN_LIB) -p:DebugType=none --nologo -v quiet
	mkdir -p $(KUBECTL_PLUGIN_DIR)
	ln -sfn $(KUBECTL_PLUGIN_LIB)/kubectl-hag $(KUBECTL_PLUGIN_DIR)/kubectl-hag
	@case ":$$PATH:" in *":$(KUBECTL_PLUGIN_DIR):"*) echo "installed $(KUBECTL_PLUGIN_DIR)/kubectl-hag: try kubectl hag --help";; \
		*) echo "installed $(KUBECTL_PLUGIN_DIR)/kubectl-hag, but $(KUBECTL_PLUGIN_DIR) is not on PATH: add it, or kubectl will not find the plugin";; esac

.PHONY: kubectl-plugin-uninstall
kubectl-plugin-uninstall: ## Remove what make kubectl-plugin installed
	rm -f $(KUBECTL_PLUGIN_DIR)/kubectl-hag
	@# Only a folder that holds the plugin: KUBECTL_PLUGIN_LIB may have been pointed elsewhere.
	if [ -f $(KUBECTL_PLUGIN_LIB)/kubectl-hag.dll ]; then rm -rf $(KUBECTL_PLUGIN_LIB); fi

.PHONY: run
run: ## Run the operator against the current KUBECONFIG
	dotnet run --project src/FailoverOperator -- --kubeconfig=$(KUBECONFIG)

.PHONY: crds
crds: ## Generate from the C# code: the CRD (crds/ and the chart's copy) and the chart's RBAC rules (a test checks they are current)
	dotnet run --project src/FailoverOperator.Manifests -- $(CURDIR)

.PHONY: chart-lint
chart-lint: ## helm lint the chart
	"$$(hack/install-helm.sh | tail -n1)" lint charts/failover-operator

.PHONY: image
image: ## Build the container image (needs a Docker engine)
	docker build -t $(IMAGE) .

.PHONY: e2e
e2e: ## End-to-end tests (Category=E2E) against the cluster in KUBECONFIG; the operator must be installed there
	USE_EXISTING_CLUSTER=true dotnet test tests/FailoverOperator.IntegrationTests --filter Category=E2E --logger "console;verbosity=detailed"

.PHONY: kind-e2e
kind-e2e: e2e ## The same, named for kind (helm install charts/failover-operator first)

.PHONY: control-plane-up
control-plane-up: ## Start a local control plane; kubeconfig in .local/control-plane/kubeconfig
	hack/control-plane.sh up $(CONTROL_PLANE_DIR)

.PHONY: control-plane-down
control-plane-down: ## Stop the local control plane
	hack/control-plane.sh down $(CONTROL_PLANE_DIR)

.PHONY: node-up
node-up: ## Start real nodes (control plane + kube-scheduler + a dockerd and kubelet per node; NODES=2 for two); kubeconfig in .local/node/kubeconfig
	NODES=$(NODES) hack/node.sh up $(NODE_DIR)

.PHONY: node-down
node-down: ## Stop the real nodes and everything they started
	hack/node.sh down $(NODE_DIR)

.PHONY: demo
demo: ## The main job: a live failover (real pods on a local node when possible), its timeline in ms
	hack/demo.sh up

.PHONY: demo-stop
demo-stop: ## Stop everything the demo started
	hack/demo.sh down

.PHONY: chaos
chaos: ## Chaos suite: 2 operator replicas, >= 200 failovers, 8 leader kills, 3 API restarts, foreign writes (CHAOS_SEED=N replays a seed; docs/chaos.md)
	hack/chaos.sh $(CHAOS_ARGS)

.PHONY: bench
bench: ## Failover latency and scale benchmark (figures in bench/results/)
	hack/bench.sh

.PHONY: fenced-figures
fenced-figures: setup ## Figures of docs/fencing.md on real nodes: failover time Label vs Agent, API writes at rest, cut-off to new active (~5 min)
	hack/node/fenced-figures.sh

.PHONY: node-loss-figures
node-loss-figures: setup ## Node-loss figures of docs/fencing.md on two real nodes: kubelet frozen -> new active, Label and Agent mode (~5 min)
	hack/node/node-loss-figures.sh
