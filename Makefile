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
	$(BIN)/python -m benchmarks.core.run
	$(BIN)/python -m benchmarks.django.run
	$(BIN)/python -m benchmarks.flask.run
	$(BIN)/python -m benchmarks.asgi.run
	$(BIN)/python -m benchmarks.report

clean:
	rm -rf $(VENV) build dist *.egg-info
