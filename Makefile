# Two commands for a newcomer: `make run` (serve the app) and `make test` (every check and test).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint cfn check pytest sysdeps migrate clean

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
	$(BIN)/python manage.py setup --no-input
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	$(BIN)/python -m hobbies.server -b $(HOST) -p $(PORT)

sysdeps:
	bash scripts/system-packages.sh

# Style, then the layers (import-linter contracts in pyproject.toml) and no import circle.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py chat hobbies

# The AWS stack (cloudformation/): cfn-lint, then checkov from its own virtualenv, because
# checkov's pins would downgrade requirements.txt's boto3 and botocore. checkov exits 0 on a
# template it cannot parse, so a "Parsing errors" line fails the target too.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: cloudformation/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r cloudformation/requirements-checkov.txt
	touch $@

cfn: $(VENV)/.dev $(CHECKOV_VENV)/.installed
	$(BIN)/cfn-lint cloudformation/template.yaml
	report=$$($(CHECKOV_VENV)/bin/checkov --config-file cloudformation/.checkov.yaml -f cloudformation/template.yaml 2>&1); \
	  status=$$?; echo "$$report"; [ $$status -eq 0 ] && ! grep -q "Parsing errors" <<< "$$report"

check: $(VENV)/.dev
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run

# The whole suite on the embedded defaults (SQLite + in-memory layer), then the data and
# real-time tests again on PostgreSQL + Redis (servers started by tests/rig/stack.py).
# The test suite's OpenID Connect provider (node oidc-provider), pinned by its lockfile.
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json
$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json | sysdeps
	npm ci --prefix tests/oidc --no-audit --no-fund

# axe-core, injected into pages by the accessibility test (tests/e2e/test_accessibility.py), pinned by its lockfile.
AXE_CORE := tests/a11y/node_modules/.package-lock.json
$(AXE_CORE): tests/a11y/package.json tests/a11y/package-lock.json | sysdeps
	npm ci --prefix tests/a11y --no-audit --no-fund

# The SQLite pass runs in PYTEST_WORKERS processes (pytest-xdist; each has its own test database);
# the PostgreSQL + Redis pass runs in one, because its workers would share one Redis.
PYTEST_WORKERS ?= 2
pytest: $(VENV)/.dev sysdeps $(OIDC_PROVIDER) $(AXE_CORE)
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	$(BIN)/python -m tests.rig.stack hobbies chat -q $(PYTEST_ARGS)

test: lint cfn check pytest

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache tests/oidc/node_modules tests/a11y/node_modules
