# The commands a newcomer needs: `make demo` and `make test`. Everything they need is
# installed by the targets themselves (npm packages, the test control plane).
SHELL := /bin/bash
NODE ?= node
JEST := $(NODE) --experimental-vm-modules node_modules/jest/bin/jest.js
JEST_ARGS ?=
IMAGE ?= build-namespace-operator:dev
TOOLS ?= 1000

.PHONY: all deps build lint typecheck test test-unit testenv demo bench image deploy clean

all: build

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

deps: node_modules/.package-lock.json

build: deps
	npx tsc -p tsconfig.build.json

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

lint: deps typecheck
	npx eslint .

# Builds etcd, kube-apiserver and kube-controller-manager from pinned Go modules into a
# cache outside the repository, once per machine.
testenv:
	bash test/testenv/build.sh

test: testenv build
	$(JEST) $(JEST_ARGS)

test-unit: deps
	$(JEST) --selectProjects unit $(JEST_ARGS)

demo: testenv build
	$(NODE) dist/src/demo.js $(if $(KEEP),--keep,)

bench: testenv build
	$(NODE) --expose-gc dist/bench/fleet.js --tools $(TOOLS)

image:
	docker build -t $(IMAGE) .

deploy:
	kubectl apply -k manifests

clean:
	rm -rf dist coverage
