# mash-hub developer entry points. A fresh machine needs only Python 3.11+ and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= .mash
STAMP  := $(VENV)/.installed-stamp

#: the instants the time-sensitive tests run under again (tests/clocks.py)
CLOCKS := weekday saturday bank_holiday christmas_eve_evening clock_change_night

#: GOV.UK Frontend, fetched from the npm registry at install time and served by the console
#: (never from a CDN at run time); the GDS Transport font is left out: it is licensed for
#: service.gov.uk only, so the console uses the system font stack.
GOVUK_FRONTEND_VERSION := 5.13.0
GOVUK_DIR   := console/static/govuk
GOVUK_STAMP := $(GOVUK_DIR)/.version-$(GOVUK_FRONTEND_VERSION)

.PHONY: demo test test-clocks install stubs bench lint typecheck clean chromium

$(STAMP): pyproject.toml setup.py $(wildcard proto/mash/v1/*.proto)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import setup; setup.generate_stubs()"
	touch $(STAMP)

$(GOVUK_STAMP):
	rm -rf build/govuk-frontend $(GOVUK_DIR)
	mkdir -p build/govuk-frontend $(GOVUK_DIR)
	cd build/govuk-frontend && npm pack --silent govuk-frontend@$(GOVUK_FRONTEND_VERSION) >/dev/null \
	  && tar xzf govuk-frontend-$(GOVUK_FRONTEND_VERSION).tgz
	cp build/govuk-frontend/package/dist/govuk/govuk-frontend.min.css \
	   build/govuk-frontend/package/dist/govuk/govuk-frontend.min.js $(GOVUK_DIR)/
	cp -r build/govuk-frontend/package/dist/govuk/assets/images $(GOVUK_DIR)/images
	touch $(GOVUK_STAMP)

chromium:  ## Debian's chromium for the browser tests (installed with apt-get where missing)
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

install: $(STAMP) $(GOVUK_STAMP) chromium  ## .venv with dev extras, stubs, GOV.UK Frontend, chromium

stubs: install
	$(BIN)/python -c "import setup; setup.generate_stubs()"

demo: install  ## PKI, synthetic data, broker + 4 adapters over mTLS, two lookups, audit trail
	$(BIN)/mash demo --home $(HOME_DIR)

test: install  ## the whole test suite: the tests that do not depend on the time, then the time-sensitive ones under every named clock
	$(BIN)/python -m pytest -n 2 -q -m "not clock_sensitive"
	$(MAKE) --no-print-directory test-clocks

test-clocks: install  ## the tests marked clock_sensitive, with every process moved to each clock
	@for clock in $(CLOCKS); do \
	  echo "== tests marked clock_sensitive at the clock '$$clock'"; \
	  $(BIN)/python -m pytest -n 2 -q -m clock_sensitive --clock $$clock || exit 1; \
	done

bench: install  ## lookup benchmark against a plain gRPC fan-out baseline
	$(BIN)/python -m mash.app bench lookup --seconds 10  # bench/ is in the checkout, not the wheel

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy mash audit identity broker agency_adapters policy certs console bench

clean:
	rm -rf $(VENV) $(HOME_DIR) build *.egg-info mash/v1 $(GOVUK_DIR)
