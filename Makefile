# Set-up and entry points. Every target installs what is missing first, so a fresh
# machine needs only `make demo` or `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-install
# npm ci writes this file, so it is newer than the lock file once the packages are installed.
NODE_STAMP := taskpane/node_modules/.package-lock.json
POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: demo test test-sqlite test-postgres lint bench clean

$(STAMP): pyproject.toml addin/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	cd addin && npm ci --no-audit --no-fund
	touch $(STAMP)

# The task pane's browser libraries (Office.js, msal-browser, Fluent UI), served by Mailgrip.
$(NODE_STAMP): taskpane/package.json taskpane/package-lock.json
	cd taskpane && npm ci --no-audit --no-fund

demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/mailgrip demo

# The suite runs twice: on SQLite (the embedded default) and on PostgreSQL.
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest
	MAILGRIP_TEST_DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest

test-sqlite: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest

test-postgres: $(STAMP) $(NODE_STAMP)
	MAILGRIP_TEST_DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check server emulator tests

clean:
	rm -rf $(VENV) instance .pytest_cache addin/node_modules taskpane/node_modules
