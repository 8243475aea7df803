# Two commands set up a fresh Debian/Ubuntu machine: `make run` and `make test`.
# FRONTLINE_DATA_DIR, FRONTLINE_HOST, FRONTLINE_PORT and DATABASE_URL are read from the environment.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test test-deps system-deps venv prestart serve lint fuzz bench bench-api bench-archive bench-load geodata clean

run: system-deps venv ## everything: packages, venv, database, migrations, seed data, server on :8000
	$(BIN)/frontline prestart
	$(BIN)/frontline serve

test: test-deps venv lint ## lint, types, and the whole suite against a private PostGIS it starts itself
	$(BIN)/pytest

system-deps:
	@bash scripts/install-system-deps.sh

test-deps:  ## system-deps, and Chromium for the browser tests
	@bash scripts/install-system-deps.sh --test

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check app tests migrations geodata bench scripts
	$(BIN)/mypy app

fuzz: test-deps venv ## the schemathesis property tests with many more examples per operation
	FRONTLINE_FUZZ_EXAMPLES=300 $(BIN)/pytest -p no:warnings tests/api/test_schemathesis.py

bench: system-deps venv ## import speed of ../shared/data/deepstate (see bench/README.md)
	$(BIN)/python bench/import_deepstate.py

bench-api: system-deps venv ## items throughput against tipg and from-memory; area series time (needs wrk)
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -qq wrk
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/items_vs_tipg.py

bench-archive: system-deps venv ## research endpoints uncached on ../shared/data replicated to 800 days; vs tipg; 64 heavy clients
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/archive.py

bench-load: system-deps venv ## 64 concurrent readers for 30 s: errors, p50/p99, throughput (needs wrk)
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -qq wrk
	$(BIN)/python bench/load_readers.py

geodata: venv ## rebuild geodata/*.geojson from ../shared/data/boundaries
	$(BIN)/python geodata/build.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
