# `make demo` runs the main job; `make test` runs lint, types and the whole test suite.
# Both create .venv and install the pinned dependencies (constraints.txt) when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip applies the pins to build tools (hatchling) too through this variable.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: test lint demo collector bench clean stress

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

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
	@echo "make collector  run the local collector at http://127.0.0.1:8765"
	@echo "make bench      the benchmarks against segment-analytics-python"
	@echo "make clean      remove .venv and build output"
	@echo "make help       this list"

matrix: $(BIN)/.installed
	PATH="$(subst $(eval) ,:,$(PYENV_BINS)):$$PATH" $(BIN)/nox

clean:
	rm -rf $(VENV) build dist *.egg-info
