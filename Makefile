# Two commands for a newcomer: `make run` (serve the app) and `make test` (every check and test).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint check pytest sysdeps migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

migrate: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	$(BIN)/daphne -b $(HOST) -p $(PORT) hobbies.asgi:application

sysdeps:
	bash scripts/system-packages.sh

# Style, then the layers (import-linter contracts in pyproject.toml) and no import circle.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py chat hobbies

check: $(VENV)/.dev
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run

# The whole suite on the embedded defaults (SQLite + in-memory layer), then the data and
# real-time tests again on PostgreSQL + Redis (servers started by tests/rig/stack.py).
# The test suite's OpenID Connect provider (node oidc-provider), pinned by its lockfile.
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json
$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json | sysdeps
	npm ci --prefix tests/oidc --no-audit --no-fund

pytest: $(VENV)/.dev sysdeps $(OIDC_PROVIDER)
	$(BIN)/pytest $(PYTEST_ARGS)
	$(BIN)/python -m tests.rig.stack hobbies chat -q $(PYTEST_ARGS)

test: lint check pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/oidc/node_modules
