# Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
UV_VERSION := 0.13.9
BOOT := .cache/uv-bootstrap
UV := $(BOOT)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup demo local test lint fmt bench bench-quick clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "orders-pipeline needs Python >= 3.11; $(PYTHON) is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) uv.lock pyproject.toml tools/checkov/uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/tools/checkov/.venv $(UV) sync --frozen --project tools/checkov --python $(PYTHON)
	touch $@

setup: $(STAMP) ## create .venv from uv.lock (exact versions)

demo: setup ## run the main job on the embedded AWS and print the reports
	$(BIN)/orders-pipeline demo

local: setup ## keep the embedded AWS running; process every upload
	$(BIN)/orders-pipeline local

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	terraform fmt -recursive terraform

test: lint ## everything CI runs: lint, types, unit, functional, infra, e2e
	$(BIN)/pytest -n 2 --dist loadgroup

bench: setup ## benchmarks; writes docs/benchmarks.md (BENCH_ARGS=--rows-10m for 10M rows), docs/benchmarks-{loader,feed,transactions}.md; QUICK=1: as bench-quick
ifdef QUICK
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)
else
	$(BIN)/python -m benchmarks $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.loader_throughput --rows 1000000 --validation off,on --output docs/benchmarks-loader.md
	$(BIN)/python -m benchmarks.feed_throughput --customers 20000 --output docs/benchmarks-feed.md
	$(BIN)/python -m benchmarks.transactions_load --output docs/benchmarks-transactions.md
endif

bench-quick: setup ## 1M rows, the report engine against DuckDB and Polars: prints the ratios, writes nothing
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BOOT) tools/checkov/.venv .pytest_cache .mypy_cache .ruff_cache
