# The commands a newcomer needs: `make demo` and `make test`. Everything they need is
# installed by the targets themselves (npm packages, the test control plane).
SHELL := /bin/bash
NODE ?= node
JEST := $(NODE) --experimental-vm-modules node_modules/jest/bin/jest.js
JEST_ARGS ?=
IMAGE ?= build-namespace-operator:dev
TOOLS ?= 1000

.PHONY: all deps build build-tools lint typecheck generate verify-generated test test-unit controlplane admin-tools testenv demo dev bench image deploy clean

all: build

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

deps: node_modules/.package-lock.json

# The product (dist/: what the image ships) and, apart from it, the tools that develop and
# measure it (dist-tools/: envtest, demo, bench).
build: deps
	rm -rf dist && npx tsc -p tsconfig.build.json

build-tools: deps
	npx tsc -p tsconfig.tools.json

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

lint: deps typecheck verify-generated
	npx eslint .

# src/api/generated/ (the BuildQuotaPolicy types and schema) from the CRD in crds/, the one
# place a field is declared; verify-generated fails when the committed files are stale.
generate: deps
	npm run --silent generate

verify-generated: deps
	npm run --silent verify-generated

# The local control plane (etcd, kube-apiserver, kube-controller-manager), built from pinned
# Go modules into a cache outside the repository, once per machine.
controlplane:
	bash envtest/go/build.sh >/dev/null

# helm and promtool, for the tests of the chart (deployment/chart/) and the alerting rules.
admin-tools:
	bash envtest/go/build-admin-tools.sh >/dev/null

# The control plane, helm and promtool and, for the build-cluster simulation, kube-scheduler,
# kwok and the Tekton controller.
testenv: controlplane admin-tools
	bash envtest/go/build-simulation.sh >/dev/null

test: lint testenv build build-tools
	$(JEST) $(JEST_ARGS)

test-unit: deps
	$(JEST) --selectProjects unit $(JEST_ARGS)

# A local control plane, the operator and a few tools; KEEP=1 leaves it all running until Ctrl-C.
demo: controlplane build build-tools
	$(NODE) dist-tools/demo/demo.js $(if $(KEEP),--keep,)

# A local build cluster to develop a build service against: the real Tekton on kwok nodes,
# the operator and a policy; it starts, follows and refuses a build as a tool, then stays up
# with kubectl ready until Ctrl-C. ONCE=1 stops after that session.
dev: controlplane build build-tools
	bash envtest/go/build-simulation.sh >/dev/null
	$(NODE) dist-tools/demo/dev.js $(if $(ONCE),--once,)

# The fleet benchmark on local control planes of its own: TOOLS=1000,10000 runs both sizes;
# BENCH_ARGS takes bench/fleet.ts flags (--samples, --idle-seconds, --profile, --apiserver-arg=...).
bench: controlplane build build-tools
	$(NODE) dist-tools/bench/fleet.js --tools $(TOOLS) $(BENCH_ARGS)

# The operator's image (Dockerfile); DOCKER=podman works too.
DOCKER ?= docker
image:
	$(DOCKER) build -t $(IMAGE) .

# The kustomize base (CRD, RBAC, Deployment, Service, PDB) with its image set to $(IMAGE),
# applied server-side to the current kubectl context; waits for the CRD and the rollout.
# No policy is applied: that is the admins' choice (manifests/example-policy.yaml is one).
deploy:
	kubectl kustomize manifests | sed 's|image: build-namespace-operator:dev$$|image: $(IMAGE)|' | kubectl apply --server-side -f -
	kubectl wait --for=condition=Established crd/buildquotapolicies.builds.toolforge.org --timeout=60s
	kubectl -n build-namespace-operator rollout status deployment/build-namespace-operator --timeout=180s

clean:
	rm -rf dist dist-tools coverage

# The build-cluster simulation (bench/simulation/README.md): one tool floods builds, in the
# shared image-build namespace and in per-tool build namespaces, on kwok nodes with the
# real Tekton controller. About 35 minutes; SIMULATE_ARGS (e.g. "--scenarios shared,per-tool")
# go to bench/simulation/run.ts.
.PHONY: simulate
SIMULATE_ARGS ?=
simulate: testenv build build-tools
	command -v rsvg-convert >/dev/null || { apt-get update -qq && apt-get install -y -qq librsvg2-bin; } || \
	  echo "rsvg-convert not installed: the plot stays SVG"
	$(NODE) dist-tools/bench/simulation/run.js $(SIMULATE_ARGS)
