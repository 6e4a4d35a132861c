# Two entry points (see README): `make chat` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HASH   := $(shell cksum < pyproject.toml | cut -d' ' -f1)
CORE   := $(VENV)/.core-$(HASH)
FULL   := $(VENV)/.full-$(HASH)

.PHONY: setup setup-full data chat serve test lint typecheck bench peer-venv clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tiller needs Python >= 3.11 (found %s); run with PYTHON=python3.11 or newer" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The app and its CLI.
$(CORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.core-* && touch $@

# Everything the test suite exercises: dev tools, the embeddings extra (hybrid retrieval; torch
# is pinned to the CPU build), the benchmark peers (their smoke test) and the llamacpp extra (its
# smoke test runs a GGUF), and tau2 (τ²-bench's domains and their replayed tasks). llama-cpp-python
# compiles llama.cpp from source, ~5 minutes on 2 cores,
# but only once per machine: pip's wheel cache serves the built wheel to every later install.
# Skipping the multimodal (LLaVA) part saves about a sixth of that. GGML_NATIVE=OFF with the
# x86-64-v3 set (AVX2, FMA, F16C) rather than -march=native: on a CPU with AMX (Sapphire Rapids
# and later, as these machines are) the native build's AMX matmul segfaults on the first decode
# (llama-cpp-python 0.3.35 and 0.3.36, in ggml_backend_amx_mul_mat). Set CMAKE_ARGS to override;
# pip's wheel cache ignores CMAKE_ARGS, so run `pip cache remove llama_cpp_python` after a change.
CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(FULL): pyproject.toml | $(BIN)/python
	CMAKE_ARGS="$(CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e ".[dev,embeddings,bench,llamacpp,classifier,tau2]"
	rm -f $(VENV)/.full-* $(VENV)/.core-* && touch $@ $(CORE)

setup: $(CORE)
setup-full: $(FULL)

data: setup  ## database schema, demo data (once), search index
	$(BIN)/tiller db init
	$(BIN)/tiller db seed --if-empty
	$(BIN)/tiller index

chat: data
	$(BIN)/tiller chat

PORT ?= 8080
serve: data  ## the HTTP service, reviewer inbox and chat page on http://127.0.0.1:$(PORT) (make serve PORT=9000)
	$(BIN)/tiller serve --port $(PORT)

test: setup-full
	$(BIN)/python -m pytest -q

lint: setup-full
	$(BIN)/ruff check agent tools evals tests bench
	$(BIN)/ruff format --check agent tools evals tests bench

typecheck: setup-full  ## mypy on agent/, tools/, evals/ ([tool.mypy] in pyproject.toml)
	$(BIN)/mypy

bench: setup-full  ## ~15 minutes; results go in docs/BENCHMARKS.md
	$(BIN)/python -m bench

peer-venv: setup-full  ## LangGraph Server's own venv, for `python -m bench load --runtime langgraph-server`
	$(BIN)/python -m bench peer-venv

clean:
	rm -rf .tiller
