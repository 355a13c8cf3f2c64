# `make demo` runs the main job; `make test` runs lint, types, the docs build and the whole test suite.
# Both create .venv and install the pinned dependencies (constraints.txt) when needed.
# `make` alone lists the targets.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip applies the pins to build tools (hatchling) too through this variable.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# mkdocs-material prints a banner about its successor on every build.
export NO_MKDOCS_2_WARNING := 1

.PHONY: test lint generate docs docs-serve demo collector bench clean stress
# pyenv's interpreters (make matrix puts them on PATH; make stress needs 3.10).
PYENV_ROOT ?= $(HOME)/.pyenv
PYENV_BINS := $(wildcard $(PYENV_ROOT)/versions/3.1[0-9].*/bin)
# The oldest supported Python, for make stress: its own venv with the dev extra.
PYTHON310 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python) $(shell command -v python3.10))
VENV310 := .venv310

# The dev and bench dependency groups of pyproject.toml (PEP 735): pip >= 25.1, which
# the first pip install brings (constraints.txt pins it).
$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip
	$(BIN)/python -m pip install -q -e '.[docs]' --group dev --group bench
	touch $@

# Code generated from the option registry (cog blocks): make generate rewrites it, make
# lint fails when it is stale.
GENERATED := segment_web/core/options.py segment_web/core/client.py segment_web/web/settings.py

generate: $(BIN)/.installed
	$(BIN)/cog -r $(GENERATED)
	$(BIN)/ruff format $(GENERATED)

lint: $(BIN)/.installed
	$(BIN)/cog --check --diff --check-fail-msg "run make generate" $(GENERATED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint docs
	$(BIN)/pytest

# The documentation site (docs/, mkdocs.yml) into site/; --strict fails on a broken link.
docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(BIN)/.installed
	$(BIN)/mkdocs serve --strict

$(VENV310)/bin/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON310)" || { echo "make stress needs Python 3.10: pyenv install 3.10, or PYTHON310=/path/to/python3.10"; exit 1; }
	test -x $(VENV310)/bin/python || $(PYTHON310) -m venv $(VENV310)
	$(VENV310)/bin/python -m pip install -q pip
	$(VENV310)/bin/python -m pip install -q -e . --group dev
	touch $@

# The timing-sensitive tests 5 times each, and the fork and server tests twice, on a
# machine kept busy, with the default Python and with 3.10 (bounded: 30 min).
stress: $(BIN)/.installed $(VENV310)/bin/.installed
	$(BIN)/python -m tests.support.stress --python $(BIN)/python --python $(VENV310)/bin/python

demo: $(BIN)/.installed
	$(BIN)/python -m example_projects.demo

collector: $(BIN)/.installed
	$(BIN)/python -m segment_web.collector

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.distance.run
	$(BIN)/python -m benchmarks.core.run
	$(BIN)/python -m benchmarks.django.run
	$(BIN)/python -m benchmarks.flask.run
	$(BIN)/python -m benchmarks.asgi.run
	$(BIN)/python -m benchmarks.asgi.loop_lag
	$(BIN)/python -m benchmarks.plan.run
	$(BIN)/python -m benchmarks.report

.PHONY: help matrix
# nox finds each interpreter as python3.X on PATH: put pyenv's installs there (a missing
# one is skipped with a message).

help:
	@echo "make demo       three example shops send events to a local collector, which shows them"
	@echo "make test       lint, the docs build and the whole test suite on one Python (.venv, pinned dependencies)"
	@echo "make stress     the timing, fork and server tests beside a CPU hog per core, on Python 3.10 and the default (30 min at most)"
	@echo "make matrix     nox: the tests on Python 3.10-3.13, with the oldest supported releases, and the built wheel"
	@echo "make lint       generated code current, ruff check, ruff format --check, mypy --strict and import-linter (the layers)"
	@echo "make generate   rewrite the code generated from the option registry (after adding an option)"
	@echo "make docs       build the documentation site into site/ (mkdocs build --strict)"
	@echo "make docs-serve serve the documentation at http://127.0.0.1:8000, rebuilt on every change"
	@echo "make collector  run the local collector at http://127.0.0.1:8765"
	@echo "make bench      the benchmarks against segment-analytics-python"
	@echo "make clean      remove .venv and build output"
	@echo "make help       this list"

matrix: $(BIN)/.installed
	PATH="$(subst $(eval) ,:,$(PYENV_BINS)):$$PATH" $(BIN)/nox

clean:
	rm -rf $(VENV) $(VENV310) build dist site *.egg-info
