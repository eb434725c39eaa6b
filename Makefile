# The menu. `make help` lists it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
# Named after its inputs, so a change to either re-installs.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
# pip-compile lives in a venv of its own: `make lock` must work while .venv
# cannot be installed (a dependency added to pyproject.toml, not yet locked).
PIP_TOOLS := $(VENV)/pip-tools
PROTOS := $(wildcard protos/bento/v1/*.proto)
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup lock run test test-long gen lint bench release-protos clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	@# Bento itself, against the pinned set: no resolving, and the build
	@# backend is the locked setuptools rather than whatever is newest.
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run make lock"; exit 1; }
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) ## Create .venv and install Bento with its dev tools from requirements.lock

lock: ## Re-pin requirements.lock to pyproject.toml (ARGS=--upgrade moves every pin)
	test -x $(PIP_TOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(PIP_TOOLS) && \
		$(PIP_TOOLS)/bin/pip install --quiet pip-tools==7.6.2; }
	$(PIP_TOOLS)/bin/pip-compile --quiet --extra dev --all-build-deps --allow-unsafe \
		--generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file $(LOCK) $(ARGS) pyproject.toml

run: $(STAMP) ## Serve on 127.0.0.1:50051 with ./bento.db (SQLite)
	$(BIN)/bento serve $(ARGS)

test: $(STAMP) ## Run the tests (PostgreSQL half when BENTO_TEST_POSTGRES_URL is set)
	@# The SQLite and PostgreSQL halves run side by side; each prints when done.
	@BENTO_TEST_BACKENDS=sqlite $(BIN)/pytest $(ARGS) > .test-sqlite.log 2>&1 & sqlite=$$!; \
	BENTO_TEST_BACKENDS=postgresql $(BIN)/pytest $(ARGS) > .test-postgresql.log 2>&1; pg=$$?; \
	wait $$sqlite; lite=$$?; \
	echo "=== SQLite half (and the tests that need no store)"; cat .test-sqlite.log; \
	echo "=== PostgreSQL half"; cat .test-postgresql.log; \
	test $$lite -eq 0 && { test $$pg -eq 0 || test $$pg -eq 5; }

test-long: $(STAMP) ## The tests with the crash, fuzz, race and load suites in full
	BENTO_TEST_LONG=1 $(BIN)/pytest $(ARGS)

gen: $(STAMP) ## Rebuild the generated code of every client (Python, TypeScript, Go) from protos/
	$(BIN)/python tools/gen_stubs.py
	clients/typescript/generate.sh
	clients/go/generate.sh

lint: $(STAMP) ## buf lint, format and breaking checks, ruff, mypy
	cd protos && ../$(BIN)/buf lint && ../$(BIN)/buf format -d --exit-code
	cd protos && ../$(BIN)/buf breaking --against released.binpb
	$(BIN)/ruff check server clients/python tests bench tools
	$(BIN)/ruff format --check server clients/python tests bench tools
	$(BIN)/mypy

release-protos: $(STAMP) ## Record the protos as released and date CHANGELOG.md's Unreleased entries
	@# Refused before anything is written when Unreleased is empty.
	$(BIN)/python tools/changelog.py check
	cd protos && ../$(BIN)/buf build -o released.binpb
	$(BIN)/python tools/changelog.py release

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache

bench: $(STAMP) ## Run the benchmarks; prints a table and writes BENCHMARKS.md
	$(BIN)/python -m bench
