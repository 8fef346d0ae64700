# Two commands do everything: `make test` and `make bench`. Each creates .venv with the project and its
# dev extra on first use and reinstalls only when pyproject.toml changes (the stamp file below).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test bench lint install clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

# The default sweep; its report goes to results/ and its figures and summary.md beside it.
bench: $(STAMP)
	$(BIN)/python -m pytest bench --benchmark-only --plot

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks .ruff_cache *.egg-info
