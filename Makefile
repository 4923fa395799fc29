# The two commands of the README. Both install whatever is missing first.
#   make run   start the whole platform locally (Ctrl-C stops it)
#   make test  ruff, mypy, every test suite against its own local stack

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .local/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install lint typecheck pytest down bench clean

$(UV):
	@echo "Installing uv $(UV_VERSION) into $(TOOLS)…"
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml deploy/local/pyproject.toml
	@echo "Syncing the Python workspace from uv.lock…"
	@$(UV) sync --frozen --all-packages --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced
	@$(PY) -m devstack.cli install

run: install
	@$(PY) -m devstack.cli run --profile run

down:
	@$(PY) -m devstack.cli down --profile run

lint: install
	@$(VENV)/bin/ruff check .

typecheck: install
	@$(VENV)/bin/mypy .

pytest: install
	@$(VENV)/bin/pytest -q -ra

test: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy .
	@$(VENV)/bin/pytest -q -ra

bench: install
	@$(PY) -m tests.benchmarks.all

clean:
	rm -rf .local/test .local/run
