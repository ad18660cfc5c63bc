# mash-hub developer entry points. A fresh machine needs only Python 3.11+ and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= .mash
STAMP  := $(VENV)/.installed-stamp

#: the instants the time-sensitive tests run under again (tests/clocks.py)
CLOCKS := weekday saturday bank_holiday christmas_eve_evening clock_change_night

.PHONY: demo test test-clocks install stubs bench lint typecheck clean

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

test: install  ## the whole test suite, then the time-sensitive tests under every named clock
	$(BIN)/python -m pytest -n 2 -q
	$(MAKE) --no-print-directory test-clocks

test-clocks: install  ## the tests marked clock_sensitive, with every process moved to each clock
	@for clock in $(CLOCKS); do \
	  echo "== tests marked clock_sensitive at the clock '$$clock'"; \
	  $(BIN)/python -m pytest -n 2 -q -m clock_sensitive --clock $$clock || exit 1; \
	done

bench: install  ## lookup benchmark against a plain gRPC fan-out baseline
	$(BIN)/mash bench lookup --seconds 10

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy mash audit identity broker agency_adapters policy certs bench

clean:
	rm -rf $(VENV) $(HOME_DIR) build *.egg-info mash/v1
