# caseworks developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo test lint ui bench clean lock upgrade

UV_VERSION ?= 0.13.9

# Installs exactly uv.lock (the project editable, with its dev extra). `--locked` fails when pyproject.toml
# no longer matches the lock: dependencies change on purpose, through `make lock` / `make upgrade`.
$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(BIN)/uv sync --quiet --locked --inexact --extra dev --compile-bytecode
	$(BIN)/python -m compileall -q caseworks_assets  # the project is installed editable: uv compiles only the dependencies
	# the callcenter dbt manifest (target/ is not in git): `dbt parse`, offline
	$(BIN)/python -m caseworks_assets.callcenter.dbt_env
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/caseworks demo

test: $(STAMP)
	$(BIN)/ruff check caseworks_assets caseworks_assets_tests benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check caseworks_assets caseworks_assets_tests benchmarks
	$(BIN)/ruff format --check caseworks_assets caseworks_assets_tests benchmarks

ui: $(STAMP)
	$(BIN)/caseworks ui

bench: $(STAMP)
	$(BIN)/python -m benchmarks all --rows 1000

# the lock after a change to pyproject.toml (keeps every other pin)
lock: $(STAMP)
	$(BIN)/uv lock

# every dependency to its newest allowed version: review the diff of uv.lock, run `make test`, commit
upgrade: $(STAMP)
	$(BIN)/uv lock --upgrade

clean:
	rm -rf caseworks_output caseworks_data .dagster_home .pytest_cache
