# Each target bootstraps .venv on first use, so a fresh clone needs nothing
# but Python 3.10+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
DEMO   := $(VENV)/.installed-demo
PORT   ?= 8000

.PHONY: demo test setup lint typecheck unit bench clean docs plots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo installs only what the todolist runs, not the dev tools, so that a fresh
# clone shows its page within a minute; a venv with the dev extra already has it all.
$(DEMO): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $(DEMO)

demo: $(if $(wildcard $(STAMP)),$(STAMP),$(DEMO))  ## the todolist: page, function and data service at http://127.0.0.1:$(PORT)
	$(BIN)/python -m examples.todolist --port $(PORT)

test: setup lint typecheck unit docs  ## everything CI checks

# The system packages and servers the tests use (README: Tests and servers):
# installs or starts what is missing, reports what it cannot provide.
setup:
	scripts/test-setup.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers, one test file each at a time (a file's module fixtures start once):
# the suite waits mostly on servers and subprocesses, so two cores serve two files.
unit: $(STAMP) setup
	$(BIN)/pytest -n 2 --dist loadfile

bench: $(STAMP) setup  ## adapter overhead against the peers, in instructions then wall-clock; writes .benchmarks/ and docs tables
	mkdir -p .benchmarks
	$(BIN)/python -m benchmarks.instructions --json .benchmarks/instructions.json
	$(BIN)/python -m benchmarks.cold_instructions --json .benchmarks/cold.json
	$(BIN)/python -m benchmarks.db_instructions --json .benchmarks/db.json
	$(BIN)/python -m benchmarks.instruction_report .benchmarks/instructions.json .benchmarks/cold.json
	$(BIN)/pytest benchmarks/suites --benchmark-only --benchmark-json=.benchmarks/adapters.json -q
	$(BIN)/python -m benchmarks.report .benchmarks/adapters.json docs/benchmarks-table.md

docs: $(STAMP)  ## the documentation site, built with --strict into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

plots: $(STAMP)  ## every benchmark table and plot in docs/ from the JSON under .benchmarks/
	$(BIN)/python -m benchmarks.plots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
