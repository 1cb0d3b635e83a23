# Coverage Workbench — `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= data/workbench.duckdb
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.DEFAULT_GOAL := help
.PHONY: help install dev demo test lint format stress bench model lab clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[dev]"
	@touch $@ $(VENV)/.installed

# JupyterLab only for `make lab`: the tests run notebooks with nbclient + ipykernel (core
# deps), and jupyterlab's jsonschema extras add ~3 s CPU to every altair import.
$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[lab]"
	@touch $@

install: $(VENV)/.installed ## create .venv and install the package with pinned dependencies

dev: $(VENV)/.installed-dev ## install with test and lint extras

demo: install ## ingest + analyse the bundled sample into $(DB), print a summary, write reports/overview.html
	$(BIN)/workbench demo --db $(DB)

test: dev ## run the whole test suite (pytest's "no tests ran" fails too)
	@$(BIN)/python -m pytest -q; rc=$$?; \
	  if [ $$rc = 5 ]; then echo "error: pytest ran no tests" >&2; fi; exit $$rc

stress: dev ## longer reliability suites (more seeds and sizes), then the ledger under SIGINT/SIGKILL
	WORKBENCH_STRESS=1 $(BIN)/python -m pytest -q tests/test_reliability*.py
	$(BIN)/python bench/stress_ledger.py

lint: dev ## ruff check + ruff format --check + lint-imports (layers, no cycles)
	$(BIN)/ruff check workbench tests bench
	$(BIN)/ruff format --check workbench tests bench
	$(BIN)/lint-imports

format: dev ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix workbench tests bench
	$(BIN)/ruff format workbench tests bench

bench: dev ## run the benchmark and evaluation scripts (needs ../shared); see bench/RESULTS.md
	$(BIN)/python bench/run_all.py

model: dev ## retrain the country ranker on the ../shared gold sets -> data/gazetteer/country_ranker.json
	$(BIN)/python bench/country_ranker.py

# Extra JupyterLab options: make lab LAB_ARGS="--port 8890 --no-browser". As root (a container)
# JupyterLab refuses to start without --allow-root, so it is added there.
LAB_ARGS ?=
LAB_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
lab: install $(VENV)/.installed-lab ## start JupyterLab on the notebooks (WORKBENCH_DB=... picks the database; LAB_ARGS=... passes options)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ROOT) $(LAB_ARGS)

clean: ## remove the venv, the demo database and reports
	rm -rf $(VENV) $(DB) $(DB).wal reports/*.html
