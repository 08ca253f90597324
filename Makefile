# Two commands: `make run` and `make test`. Everything else is a step of theirs.
SHELL := /bin/sh
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON ?= python3
UV = $(shell scripts/ensure-uv)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run install install-dev migrate demo serve test lint pytest openapi bench clean

run: install migrate demo serve

install:
	@$(UV) sync --frozen --no-dev --quiet

install-dev:
	@$(UV) sync --frozen --quiet

migrate:
	@$(PY) manage.py migrate --noinput -v 0

demo:
	@$(PY) manage.py seed_demo --if-empty

serve:
	@scripts/serve

test: install-dev lint pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache

pytest:
	@scripts/ensure-chromium
	$(VENV)/bin/pytest $(PYTEST_ARGS)

openapi:
	$(PY) manage.py export_openapi > openapi.json

clean:
	rm -rf $(VENV) var
