# Two entry points (see README): `make chat` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup data chat test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tiller needs Python >= 3.11 (found %s); set PYTHON=python3.11 or newer" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

data: setup  ## database schema, demo data (once), search index
	$(BIN)/tiller db init
	$(BIN)/tiller db seed --if-empty
	$(BIN)/tiller index

chat: data
	$(BIN)/tiller chat

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check agent tools evals tests
	$(BIN)/ruff format --check agent tools evals tests

clean:
	rm -rf .tiller
