# Two commands matter: `make run` and `make test`. Both set everything up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
SIZE ?= S
LANDING := data/landing
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# config/dagster.postgres.yaml keeps Dagster's run and event storage in PostgreSQL instead of SQLite.
DAGSTER_CONFIG ?= config/dagster.yaml

.PHONY: setup manifest sample run test lint dev clean bench warehouse-reader

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $@

setup: $(INSTALLED) $(DAGSTER_HOME)/dagster.yaml

# Copied whenever it differs, so switching DAGSTER_CONFIG takes effect at once.
$(DAGSTER_HOME)/dagster.yaml: $(DAGSTER_CONFIG) FORCE
	mkdir -p $(DAGSTER_HOME)
	cmp -s $< $@ || cp $< $@

FORCE:

$(MANIFEST): $(INSTALLED) $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' \) -print)
	$(BIN)/python -m orchestration.prepare

manifest: $(MANIFEST)

$(LANDING)/.generated:
	$(MAKE) setup
	$(BIN)/python -m sample_data --size $(SIZE) --out $(LANDING) --truth data/sample_truth
	touch $@

sample: $(LANDING)/.generated

run: setup manifest sample
	$(BIN)/python -m orchestration.run_window

lint: setup manifest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && SEGMENTS_WORK_DB=$(CURDIR)/data/work/lint.duckdb ../$(BIN)/sqlfluff lint models
	$(BIN)/dagster definitions validate -w workspace.yaml

# Two workers, one per core: the e2e tests wait on dbt and Dagster start-up as much as they compute.
test: lint
	$(BIN)/pytest -n 2 --dist worksteal

# Create/update the read-only BI role of the PostgreSQL warehouse (docs/warehouse.md). Needs WAREHOUSE_URL
# (as a role that may create roles); the password, if any, comes from SEGMENTS_READER_PASSWORD.
warehouse-reader: setup
	$(BIN)/python -m assets.publish.postgres_roles $(if $(ROLE),--role $(ROLE))

dev: setup manifest
	$(BIN)/dagster dev -w workspace.yaml

# Benchmark (not part of `make test`): its own data under data/bench/$(SIZE), results in bench/results/.
bench: setup manifest
	$(BIN)/python -m bench.run --size $(SIZE)

clean:
	rm -rf data dbt_project/target
