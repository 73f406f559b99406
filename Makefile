# podman-tracker: `make test` and `make demo` work from a fresh clone on a fresh Debian machine.
SHELL := /bin/bash
STACK := scripts/stack
.DEFAULT_GOAL := help

# Every target but help runs on Node.js 22 or newer: the machine's, or Node 24 that scripts/node
# installs from the npm registry into .stack/tools (npm, npx and the tests' processes use it too).
ifneq ($(filter-out help,$(or $(MAKECMDGOALS),help)),)
NODE_BIN := $(shell scripts/node)
$(if $(NODE_BIN),,$(error scripts/node found no Node.js 22 or newer and could not install one))
export PATH := $(NODE_BIN):$(PATH)
endif

.PHONY: help deps build lint typecheck unit test test-scale test-fuzz demo stack-up stack-down bench bench-floor clean

help:
	@echo "make demo   start the local stack and run a job end to end"
	@echo "make test   install what is missing, start the stack, lint, typecheck, run every test, replay every history, stop the stack"
	@echo "make test-scale  the array job over 10,000 stand-in tasks (make test runs 1,000)"
	@echo "make test-fuzz   the crash fuzz at length (PODMAN_TRACKER_FUZZ_ROUNDS, PODMAN_TRACKER_FUZZ_SEED)"
	@echo "make build  compile TypeScript into dist/"
	@echo "make bench  benchmarks against raw Podman (BENCH_SMOKE=1 for a quick run)"
	@echo "make bench-floor  what Temporal alone costs per array task (no containers)"

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

deps: node_modules

build: node_modules
	npm run build

lint: node_modules
	npx eslint .
	npx prettier --check .

typecheck: node_modules
	npx tsc -p tsconfig.json --noEmit

unit: node_modules
	npx vitest run test/unit

# Starts the stack, runs everything against it, replays every workflow history the run produced
# against the code of now (test/replay-all.ts), and stops the stack again whatever the outcome.
test:
	$(STACK) up
	@set -o pipefail; eval "$$($(STACK) env)"; \
	  export PODMAN_TRACKER_REPLAY_SINCE=$$(date -u +%Y-%m-%dT%H:%M:%SZ); \
	  $(MAKE) --no-print-directory lint typecheck build && npx vitest run && node --import tsx test/replay-all.ts; rc=$$?; \
	  $(STACK) down; exit $$rc

# Longer runs than make test's, each with its histories replayed after it.
test-scale:
	$(STACK) up
	@eval "$$($(STACK) env)"; export PODMAN_TRACKER_REPLAY_SINCE=$$(date -u +%Y-%m-%dT%H:%M:%SZ); \
	  PODMAN_TRACKER_SCALE_TASKS=$${PODMAN_TRACKER_SCALE_TASKS:-10000} npx vitest run test/integration/array-scale.test.ts \
	  && node --import tsx test/replay-all.ts

test-fuzz:
	$(STACK) up
	@eval "$$($(STACK) env)"; export PODMAN_TRACKER_REPLAY_SINCE=$$(date -u +%Y-%m-%dT%H:%M:%SZ); \
	  PODMAN_TRACKER_FUZZ_ROUNDS=$${PODMAN_TRACKER_FUZZ_ROUNDS:-40} npx vitest run test/integration/crash-fuzz.test.ts \
	  && node --import tsx test/replay-all.ts

demo:
	$(STACK) up
	$(MAKE) --no-print-directory build
	@eval "$$($(STACK) env)"; node dist/scripts/demo.js

# Benchmarks against raw Podman, measured in the same run (not part of `make test`).
bench:
	$(STACK) up
	$(MAKE) --no-print-directory build
	@eval "$$($(STACK) env)"; node --import tsx bench/run.ts

# What Temporal alone costs per array task, in this project's shape and the cheapest other (BENCHMARKS.md).
bench-floor:
	$(STACK) up
	@eval "$$($(STACK) env)"; node --import tsx bench/floor.ts

stack-up:
	$(STACK) up

stack-down:
	$(STACK) down

clean:
	rm -rf dist
