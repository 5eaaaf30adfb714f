# The two commands of the README are `make run` and `make test`; both set up
# .venv from the lock files first, unattended.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run demo test lint format schema repair bench lock licenses messages clean

run: $(RUN_STAMP)
	exec $(BIN)/python server.py

# `make run` with a demo workspace ("demo") already seeded, for a first look in GraphiQL.
demo: $(RUN_STAMP)
	TAGS_SEED_DEMO=true exec $(BIN)/python server.py

test: $(DEV_STAMP)
	$(BIN)/python -m pytest

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
bench: $(DEV_STAMP)
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
repair: $(RUN_STAMP)
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

clean:
	rm -rf $(VENV) build *.egg-info
