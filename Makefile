# Two entry points: `pulumi up -s local` (deploy; Pulumi.yaml's uv toolchain installs .venv itself)
# and `make test` (the whole suite, installing what it needs first).

# Schema data of the offline checks: each *_SCHEMA_DIR as set, else ../shared/schemas when it exists (CI,
# .ci/run), else the cache `make schemas` fills with the pinned upstream files (tools/schemas/lock.json).
SHARED ?= $(abspath ../shared)
SCHEMA_CACHE ?= .cache/schemas
SCHEMA_CACHE_DIR := $(abspath $(SCHEMA_CACHE))
SCHEMA_ROOT := $(if $(wildcard $(SHARED)/schemas/.),$(SHARED)/schemas,$(SCHEMA_CACHE_DIR))
export CRD_SCHEMA_DIR := $(or $(CRD_SCHEMA_DIR),$(SCHEMA_ROOT)/crd)
export HELM_SCHEMA_DIR := $(or $(HELM_SCHEMA_DIR),$(SCHEMA_ROOT)/helm)
export GITHUB_ACTIONS_SCHEMA_DIR := $(or $(GITHUB_ACTIONS_SCHEMA_DIR),$(SCHEMA_ROOT)/github-actions)
SCHEMA_DIRS := $(CRD_SCHEMA_DIR) $(HELM_SCHEMA_DIR) $(GITHUB_ACTIONS_SCHEMA_DIR)
# `make test` fills the cache first whenever one of them points into it.
SCHEMAS_NEEDED := $(if $(filter $(SCHEMA_CACHE_DIR)/%,$(SCHEMA_DIRS)),schemas)
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# `make stack`: a project-local file backend and passphrase (both git-ignored), so nothing touches your
# Pulumi login or another project's state. Export these three (as `make stack` prints) before `pulumi up`.
STATE_DIR := $(CURDIR)/.pulumi-state
PASSPHRASE_FILE := $(CURDIR)/.pulumi-passphrase
STACKS ?= local remote

.PHONY: test deps deps-test lint bench checkov-venv snapshot schemas schema-dirs chart-check stack

test: schema-dirs deps-test checkov-venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest

# Download the pinned schema data into $(SCHEMA_CACHE), verifying each file's sha256; only what is missing
# or wrong is fetched. SCHEMA_MIRROR=<URL or directory> replaces every upstream base (<mirror>/<host>/<path>).
schemas: $(UV)
	$(UV) run --locked python -m tools.schemas download --cache "$(SCHEMA_CACHE_DIR)" $(if $(SCHEMA_MIRROR),--mirror "$(SCHEMA_MIRROR)")

# Fails at once (not 90 s into the suite) when a configured schema directory does not exist.
schema-dirs: $(SCHEMAS_NEEDED)
	@for dir in $(SCHEMA_DIRS); do test -d "$$dir" || { echo "make: schema directory $$dir does not exist (unset CRD_SCHEMA_DIR/HELM_SCHEMA_DIR/GITHUB_ACTIONS_SCHEMA_DIR to use the \`make schemas\` cache)" >&2; exit 1; }; done

# What `pulumi up` needs, from uv.lock. --inexact: keep the test group (`make test`) if it is installed.
# Pulumi's uv toolchain runs `uv` from the PATH: without a system uv, put .tools/bin on it (printed below).
deps: $(UV)
	$(UV) sync --locked --inexact
	@command -v uv >/dev/null 2>&1 || echo 'make: uv is in .tools/bin, not on your PATH; for pulumi: export PATH="$(CURDIR)/.tools/bin:$$PATH"'

# Once per clone: the file backend in .pulumi-state/ and the stacks local and remote, their secrets encrypted
# with the passphrase in .pulumi-passphrase (random, mode 0600; or your own PULUMI_CONFIG_PASSPHRASE). Pulumi
# writes each stack's encryption salt into Pulumi.<stack>.yaml. Needs the Pulumi CLI.
stack: deps
	@mkdir -p "$(STATE_DIR)"
	@if [ -z "$$PULUMI_CONFIG_PASSPHRASE" ] && [ ! -s "$(PASSPHRASE_FILE)" ]; then \
		(umask 077 && head -c 32 /dev/urandom | base64 > "$(PASSPHRASE_FILE)") && \
		echo "make: wrote a new passphrase to .pulumi-passphrase (keep a copy: the stacks' secrets need it)"; fi
	@export PULUMI_BACKEND_URL="file://$(STATE_DIR)"; \
	[ -n "$$PULUMI_CONFIG_PASSPHRASE" ] || export PULUMI_CONFIG_PASSPHRASE_FILE="$(PASSPHRASE_FILE)"; \
	for stack in $(STACKS); do pulumi stack select --create "$$stack" --non-interactive || exit 1; done
	@echo 'Now, in this shell:'
	@echo '  export PULUMI_BACKEND_URL="file://$(STATE_DIR)"'
	@[ -n "$$PULUMI_CONFIG_PASSPHRASE" ] || echo '  export PULUMI_CONFIG_PASSPHRASE_FILE="$(PASSPHRASE_FILE)"'
	@command -v uv >/dev/null 2>&1 || echo '  export PATH="$(CURDIR)/.tools/bin:$$PATH"'
	@echo '  pulumi up -s local'

deps-test: $(UV)
	bash .ci/install-system-packages
	$(UV) sync --locked --group test

lint: deps-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# After a deliberate change of what the program deploys: re-record tests/golden/registrations.json.gz.
snapshot: deps-test
	.venv/bin/python -m tests.harness.snapshot

# Pre-deploy chart check (tools/chart_check): every Helm release of both stacks, its pinned chart pulled (or read
# from CHART_DIR=<dir> holding <chart>-<version>.tgz or <chart>-<version>/, for air-gapped machines), rendered
# with the program's values for the target Kubernetes version, then Pod Security of its namespace, the schemas,
# the policy pack and checkov. One line per finding; fails on any. CHART_CHECK_ARGS e.g. `--stack local`.
# Needs the test dependencies and checkov, not the Debian packages of the test servers.
chart-check: schema-dirs checkov-venv $(UV)
	$(UV) sync --locked --group test
	.venv/bin/python -m tools.chart_check $(CHART_CHECK_ARGS)

bench: deps-test
	.venv/bin/python benchmarks/mock_evaluation.py

# checkov pins old versions of many packages: its own virtualenv, never the project's.
CHECKOV_VERSION := 3.3.30
checkov-venv: .venv-checkov/bin/checkov

.venv-checkov/bin/checkov: $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 .venv-checkov
	$(UV) pip install --quiet --python .venv-checkov/bin/python checkov==$(CHECKOV_VERSION)

# uv alone in .tools/bin (its virtualenv in .tools/uv): that directory can go on the PATH without shadowing
# your python3 or pip.
.tools/bin/uv:
	python3 -m venv .tools/uv
	.tools/uv/bin/pip install --quiet uv==$(UV_VERSION)
	mkdir -p .tools/bin
	ln -sf ../uv/bin/uv .tools/bin/uv
