# `make demo` and `make test` each set up everything they need on a fresh clone: the virtual
# environment, rhai-py built from source (incrementally: cargo keeps rhai-py/target), this package.

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
RHAI_SOURCES := rhai-py/Cargo.toml rhai-py/Cargo.lock rhai-py/pyproject.toml $(wildcard rhai-py/src/*.rs)
TERA_SOURCES := tera-py/Cargo.toml tera-py/Cargo.lock tera-py/pyproject.toml $(wildcard tera-py/src/*.rs)

.PHONY: install test lint demo clean protos

install: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.maturin: $(BIN)/python rhai-py/pyproject.toml
	$(BIN)/pip install --quiet "maturin>=1.7,<2"
	touch $@

# maturin develop puts the extension next to rhai-py/python/rhai, so Python edits need no rebuild.
$(VENV)/.rhai: $(VENV)/.maturin $(RHAI_SOURCES)
	cd rhai-py && VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --release --quiet
	touch $@

$(VENV)/.tera: $(VENV)/.maturin $(TERA_SOURCES)
	cd tera-py && VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --release --quiet
	touch $@

# The host tools of the bwrap runtime and its tests (bubblewrap; ip from iproute2), installed with apt
# where missing. `.ci/run` installs bubblewrap too.
$(VENV)/.system: | $(BIN)/python
	command -v bwrap >/dev/null || (apt-get update -qq && apt-get install -y -qq bubblewrap)
	command -v ip >/dev/null || (apt-get update -qq && apt-get install -y -qq iproute2)
	touch $@

$(VENV)/.installed: $(VENV)/.system $(VENV)/.rhai $(VENV)/.tera pyproject.toml examples/python_protocol/pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -e examples/python_protocol
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cargo fmt --manifest-path rhai-py/Cargo.toml --check
	cargo fmt --manifest-path tera-py/Cargo.toml --check

test: lint
	$(BIN)/pytest

# The generated gRPC modules are committed; tests/agent/test_protos_fresh.py fails when they are stale.
protos: install
	$(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. \
		blockvisor_core/protos/*.proto

# Starts the daemon under ./.demo, creates and starts the example node, and shows its height rising;
# `make demo ARGS=--once` prints once, stops everything and exits.
demo: install
	$(BIN)/python node_images/example/demo.py $(ARGS)

clean:
	rm -rf $(VENV) rhai-py/target rhai-py/python/rhai/*.so tera-py/target tera-py/python/tera/*.so
