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

.PHONY: test lint docs docs-serve demo collector bench clean stress

# The dev and bench dependency groups of pyproject.toml (PEP 735): pip >= 25.1, which
# the first pip install brings (constraints.txt pins it).
$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip
	$(BIN)/python -m pip install -q -e '.[docs]' --group dev --group bench
	touch $@

lint: $(BIN)/.installed
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

# The timing-sensitive tests, 5 times each on a machine kept busy (bounded: 15 min).
stress: $(BIN)/.installed
	$(BIN)/python -m tests.support.stress

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
PYENV_ROOT ?= $(HOME)/.pyenv
PYENV_BINS := $(wildcard $(PYENV_ROOT)/versions/3.1[0-9].*/bin)

help:
	@echo "make demo       three example shops send events to a local collector, which shows them"
	@echo "make test       ruff, mypy --strict and pytest on one Python (.venv, pinned dependencies)"
	@echo "make stress     the timing-sensitive tests 5 times each beside a CPU hog per core (15 min at most)"
	@echo "make matrix     nox: the tests on Python 3.10-3.13, with the oldest supported releases, and the built wheel"
	@echo "make lint       ruff check, ruff format --check and mypy only"
	@echo "make docs       build the documentation site into site/ (mkdocs build --strict)"
	@echo "make docs-serve serve the documentation at http://127.0.0.1:8000, rebuilt on every change"
	@echo "make collector  run the local collector at http://127.0.0.1:8765"
	@echo "make bench      the benchmarks against segment-analytics-python"
	@echo "make clean      remove .venv and build output"
	@echo "make help       this list"

matrix: $(BIN)/.installed
	PATH="$(subst $(eval) ,:,$(PYENV_BINS)):$$PATH" $(BIN)/nox

clean:
	rm -rf $(VENV) build dist site *.egg-info
