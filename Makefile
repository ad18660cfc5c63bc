# mash-hub developer entry points. A fresh machine needs only Python 3.11+ and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= .mash
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install stubs bench lint typecheck clean

$(STAMP): pyproject.toml setup.py $(wildcard proto/mash/v1/*.proto)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import setup; setup.generate_stubs()"
	touch $(STAMP)

install: $(STAMP)  ## create .venv, install mash-hub with dev extras, generate stubs

stubs: install
	$(BIN)/python -c "import setup; setup.generate_stubs()"

demo: install  ## PKI, synthetic data, broker + 4 adapters over mTLS, two lookups, audit trail
	$(BIN)/mash demo --home $(HOME_DIR)

test: install  ## the whole test suite
	$(BIN)/python -m pytest -n 2 -q

bench: install  ## lookup benchmark against a plain gRPC fan-out baseline
	$(BIN)/mash bench lookup --seconds 10

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy mash broker agency_adapters policy certs bench

clean:
	rm -rf $(VENV) $(HOME_DIR) build *.egg-info mash/v1
