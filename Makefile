# Two commands do all the set-up: `make run` starts the app, `make test` runs every check.
# Both first install the Debian packages of packages.txt (`make test` also those of packages-dev.txt) where they
# are missing, or stop with one line naming them (scripts/system_packages.sh); then create .venv and install the
# pinned requirements on first use. Both are idempotent.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean system system-dev

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; set PY=python3.11"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

# Listed before $(STAMP): a machine that lacks them stops here, before the venv and the server.
run: system $(STAMP)
	$(BIN)/streamlit run app.py

system:
	@bash scripts/system_packages.sh packages.txt

system-dev:
	@bash scripts/system_packages.sh packages.txt packages-dev.txt

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

test: system-dev lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache test-artifacts
