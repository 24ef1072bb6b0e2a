# loclab — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
TORCH  := torch==2.13.0
PIP_FLAGS := --disable-pip-version-check --no-input
PYTEST_ARGS ?=
# Two test processes: most tests wait on kernels and subprocesses, so two keep 2 cores busy.
# (Session fixtures, such as the real quickstart run, are built once per worker: xdist 3.8's
# loadgroup does not group under pytest 9.2, whose node ids ignore xdist's suffix.)
PYTEST_WORKERS ?= 2

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "loclab needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) -q --upgrade pip

# torch goes in first and explicitly: anything that depends on an unpinned torch would
# otherwise pull a multi-GB CUDA build.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install $(PIP_FLAGS) -q $(TORCH)
	$(PIP) install $(PIP_FLAGS) -q -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install $(PIP_FLAGS) -q -c constraints.txt -e ".[test,dev,lab]"
	@touch $@

# What the tutorials need beyond the package (moto for tutorial 05's offline AWS).
$(VENV)/.installed-lab: $(VENV)/.installed
	$(PIP) install $(PIP_FLAGS) -q -c constraints.txt -e ".[lab]"
	@touch $@

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: install
install: $(VENV)/.installed ## Create .venv and install loclab with its locked dependencies

.PHONY: demo
demo: $(VENV)/.installed ## Set up, then run the flagship quickstart experiment end to end
	$(BIN)/loclab run experiments/quickstart.yaml
	@echo "Open the report: file://$(CURDIR)/reports/quickstart/index.html"

.PHONY: test
test: $(VENV)/.installed-test ## Set up (with test tools and services), then run the test suite
	@source .ci/services.sh && start_services && \
	  $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=15 $(PYTEST_ARGS); rc=$$?; stop_services; exit $$rc

.PHONY: test-fast
test-fast: $(VENV)/.installed-test ## Run the tests not marked slow (no services started)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

# JupyterLab refuses to start as root without --allow-root (a container's only user); nobody
# else is given it.
LAB_AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab
lab: $(VENV)/.installed-lab ## Start JupyterLab on 127.0.0.1 (token login) with everything the tutorials need
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --ip 127.0.0.1 --notebook-dir . $(LAB_AS_ROOT)

.PHONY: ui
ui: $(VENV)/.installed ## Start the MLflow UI on 127.0.0.1:5000
	$(BIN)/loclab ui

.PHONY: lint
lint: $(VENV)/.installed-test ## Lint: ruff, ruff format, mypy --strict, import layers, stripped notebooks
	$(BIN)/ruff check lib tests benchmarks
	$(BIN)/ruff format --check lib tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/nbstripout --keep-id --verify notebooks/templates/*.ipynb notebooks/tutorials/*.ipynb \
	  lib/loclab/report/template/*.ipynb lib/loclab/scaffold/template/project/notebooks/templates/*.ipynb

.PHONY: lock
lock: ## Re-resolve dependencies into constraints.txt (in a throwaway venv)
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install $(PIP_FLAGS) -q --upgrade pip
	.lockenv/bin/python -m pip install $(PIP_FLAGS) -q $(TORCH)
	.lockenv/bin/python -m pip install $(PIP_FLAGS) -q -e ".[test,dev]"
	{ head -2 constraints.txt; .lockenv/bin/python -m pip freeze --exclude-editable | \
	  grep -v '^loclab' | sed 's/+cpu//'; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -rf .lockenv

.PHONY: clean
clean: ## Remove the state folder (.loclab: MLflow store, runs) and generated reports
	rm -rf .loclab reports/*/ reports/index.html tests/_artifacts
