# Guichet: every command sets itself up (a fresh clone needs only Python 3.11+ and Node 20).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export AWS_DEFAULT_REGION ?= eu-west-3

.PHONY: install dev test lint typecheck unit integration infra e2e synth build bench token fire import clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | { grep -v "is ignored: it is neither" || true; }; test $${PIPESTATUS[0]} -eq 0
	touch $(STAMP)

install: $(STAMP)

## make dev: the local stack (moto + HTTP gateway) on 127.0.0.1:$(PORT), in the foreground
dev: install
	PORT=$(PORT) $(BIN)/python -m infra.local

## make test: lint, format check, mypy (strict on shared/), then every test level
test: install lint typecheck
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -q tests/unit
integration: install
	$(BIN)/python -m pytest -q tests/integration
infra: install
	$(BIN)/python -m pytest -q tests/infra
e2e: install
	$(BIN)/python -m pytest -q tests/e2e

## make build: Lambda code and an arm64 dependency layer under build/ (pip, no Docker)
build: install
	$(BIN)/python -m infra.build

## make synth: the CloudFormation template into cdk.out/ (offline, no AWS credentials)
synth: build
	CDK_OUTDIR=cdk.out $(BIN)/python -m infra.app

## make bench: AWS calls, items, import times and dollars per operation -> bench/results.md
bench: install
	$(BIN)/python -m bench

## make token ROLE=agent|supervisor|admin|customer: a bearer token from the running local stack
token:
	@curl -fsS "http://127.0.0.1:$(PORT)/local/token?role=$(or $(ROLE),agent)" | $(PYTHON) -c "import json,sys; print(json.load(sys.stdin)['token'])"

## make fire SCHEDULE=<name>: run a scheduled function of the running local stack now
fire:
	@curl -fsS -X POST "http://127.0.0.1:$(PORT)/local/schedules/$(SCHEDULE)/fire"; echo

## make import FILE=orders.jsonl|orders.csv [PLATFORM=shopify|woocommerce] [LOCAL=1] [RESTART=1]:
## load a Shopify or WooCommerce orders export (resumable, idempotent). AWS: TABLE_NAME and the
## usual AWS credentials; LOCAL=1: the running local stack on $(PORT) (endpoint from /local/stack)
import: install
	@test -n "$(FILE)" || { echo "usage: make import FILE=orders.jsonl [PLATFORM=shopify|woocommerce] [LOCAL=1] [RESTART=1]"; exit 2; }
	$(BIN)/python -m shared.cli.import_orders "$(FILE)" $(if $(PLATFORM),--platform $(PLATFORM)) $(if $(LOCAL),--local http://127.0.0.1:$(PORT)) $(if $(RESTART),--restart)

clean:
	rm -rf build cdk.out .pytest_cache .mypy_cache .ruff_cache
