# Two entry points: `pulumi up -s local` (deploy; Pulumi.yaml's uv toolchain installs .venv itself)
# and `make test` (the whole suite, installing what it needs first).
SHARED ?= $(abspath ../shared)
export CRD_SCHEMA_DIR ?= $(SHARED)/schemas/crd
export HELM_SCHEMA_DIR ?= $(SHARED)/schemas/helm
export GITHUB_ACTIONS_SCHEMA_DIR ?= $(SHARED)/schemas/github-actions
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: test deps deps-test lint bench checkov-venv snapshot

test: deps-test checkov-venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest

deps: $(UV)
	$(UV) sync --locked

deps-test: $(UV)
	bash .ci/install-system-packages
	$(UV) sync --locked --group test

lint: deps-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# After a deliberate change of what the program deploys: re-record tests/golden/registrations.json.gz.
snapshot: deps-test
	.venv/bin/python -m tests.harness.snapshot

bench: deps-test
	.venv/bin/python benchmarks/mock_evaluation.py

# checkov pins old versions of many packages: its own virtualenv, never the project's.
CHECKOV_VERSION := 3.3.30
checkov-venv: .venv-checkov/bin/checkov

.venv-checkov/bin/checkov: $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 .venv-checkov
	$(UV) pip install --quiet --python .venv-checkov/bin/python checkov==$(CHECKOV_VERSION)

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)
