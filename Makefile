# The two commands: `make run` serves funds on http://127.0.0.1:5000; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
# The host names `make run` answers to (any other Host header gets 400).
FUNDS_TRUSTED_HOSTS ?= ["$(HOST)", "localhost", "127.0.0.1"]
FLASK := $(BIN)/flask --app app

.PHONY: run test lint format assets clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(FLASK) init-instance
	$(FLASK) db upgrade
	@echo "funds is running on http://$(HOST):$(PORT) (Ctrl+C to stop)"
	FUNDS_TRUSTED_HOSTS='$(FUNDS_TRUSTED_HOSTS)' $(BIN)/python -m funds.serve --listen=$(HOST):$(PORT)

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Rebuild the vendored GOV.UK Frontend CSS/JS and axe-core (needs Node.js and npm).
assets:
	npm ci
	bash scripts/vendor_assets.sh
