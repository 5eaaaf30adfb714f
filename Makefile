# The two commands of the README are `make run` and `make test`; both set up
# .venv from the lock files first, unattended.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# The embedded store's default server, secantusd-rs (README "The embedded store"),
# built once from the crate secantus-mdb at the pinned version into the venv;
# a new pin builds it again.
SECANTUS_RS_VERSION := $(strip $(file < requirements/secantusd-rs.version))
SECANTUS_RS_ROOT := $(VENV)/secantusd-rs
RS_STAMP := $(SECANTUS_RS_ROOT)/.installed-$(SECANTUS_RS_VERSION)
CARGO ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)

.PHONY: run demo test test-python-server lint format schema repair bench lock licenses messages clean

run: $(RUN_STAMP) $(RS_STAMP)
	exec $(BIN)/python server.py

# `make run` with a demo workspace ("demo") already seeded, for a first look in GraphiQL.
demo: $(RUN_STAMP) $(RS_STAMP)
	TAGS_SEED_DEMO=true exec $(BIN)/python server.py

test: $(DEV_STAMP) $(RS_STAMP)
	$(BIN)/python -m pytest

# The storage, api and end-to-end tests again on SecantusDB's Python server, so
# that neither server rots (README "The embedded store").
test-python-server: $(DEV_STAMP)
	TAGS_EMBEDDED_SERVER=python $(BIN)/python -m pytest tests/storage tests/api tests/cli

# lint-imports checks the layers of README's Layout ([tool.importlinter] in pyproject.toml).
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server.py cli config demo edge i18n observability resolvers schema storage devtools tests
	$(BIN)/lint-imports --no-cache

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate schema.graphql, the schema exported from the code.
schema: $(RUN_STAMP)
	$(BIN)/tags-admin export-schema schema.graphql

# Benchmarks on a real store (TAGS_MONGODB_URI, else the embedded one in a temporary
# directory): writes bench/REPORT.md (about 30 minutes: the load runs send 20 000 requests each).
bench: $(DEV_STAMP) $(RS_STAMP)
	$(BIN)/python -m bench.plans
	$(BIN)/python -m bench.run

# Every locked dependency's licence, checked against LICENSE (tests/test_licenses.py).
licenses: $(DEV_STAMP)
	$(BIN)/python -m tests.test_licenses

# Languages (README "Languages"): extract every marked message from the code, merge
# it into each language's catalog (i18n/locales/*/LC_MESSAGES/tags.po; new entries
# come out empty, to be translated), then compile the catalogs to .mo files. The
# service compiles a .po in memory when its .mo is missing or older.
MESSAGES_POT := build/tags.pot
messages: $(DEV_STAMP)
	mkdir -p build
	$(BIN)/pybabel extract --no-default-keywords $$($(BIN)/python -m i18n.extraction keywords) \
		--no-location --sort-output --omit-header -o $(MESSAGES_POT) $$($(BIN)/python -m i18n.extraction sources)
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -D tags -i $(MESSAGES_POT) -d i18n/locales
	$(BIN)/pybabel compile --statistics -D tags -d i18n/locales

# Recompute derived data and finish interrupted deletes/merges on the configured store.
repair: $(RUN_STAMP) $(RS_STAMP)
	$(BIN)/tags-admin repair

# Re-pin requirements/*.lock from pyproject.toml (needs pip-tools from the dev lock).
lock: $(DEV_STAMP)
	$(PIP) install pip-tools==7.6.2
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --allow-unsafe --no-header -o requirements/main.lock pyproject.toml requirements/build.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --allow-unsafe --no-header --extra dev -o requirements/dev.lock pyproject.toml requirements/build.in

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements/main.lock pyproject.toml edge/graphiql-assets.json | $(BIN)/python
	$(PIP) install -r requirements/main.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	$(BIN)/python -m edge.graphiql install
	$(BIN)/pybabel compile -D tags -d i18n/locales
	touch $@

$(DEV_STAMP): requirements/dev.lock pyproject.toml edge/graphiql-assets.json | $(BIN)/python
	$(PIP) install -r requirements/dev.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	$(BIN)/python -m edge.graphiql install
	$(BIN)/pybabel compile -D tags -d i18n/locales
	touch $@

# --force: a new pin replaces the binary cargo may not know it installed (a copied
# .venv). --ignore-rust-version: the crate asks for rustc 1.98 while these machines' cargo
# is 1.95; it builds with 1.95 and the whole suite passes on what it builds.
$(RS_STAMP): requirements/secantusd-rs.version | $(BIN)/python
	@echo "Building secantusd-rs $(SECANTUS_RS_VERSION) (the embedded store's server; once, about 5 minutes)"
	$(CARGO) install --locked --force --ignore-rust-version --version $(SECANTUS_RS_VERSION) secantus-mdb --root $(SECANTUS_RS_ROOT)
	rm -f $(SECANTUS_RS_ROOT)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info
