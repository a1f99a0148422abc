# caseworks developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo test lint ui bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# an editable install leaves our own modules uncompiled: compile them once, not in every command
	$(BIN)/python -m compileall -q caseworks_assets benchmarks
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

clean:
	rm -rf caseworks_output caseworks_data .dagster_home .pytest_cache
