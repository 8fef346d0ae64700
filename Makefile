# Two commands do everything: `make test` and `make bench`. Each creates .venv with the project and its
# dev extra on first use and reinstalls only when pyproject.toml changes (the stamp file below).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test bench lint install clean browser

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

# The history page's test (tests/test_history_browser.py) renders it in headless Chromium. Installed
# here when no Chromium or Chrome is on PATH: with apt-get as root, or with sudo where it needs no
# password (CI); otherwise a message says what to install.
BROWSERS := chromium chromium-browser google-chrome google-chrome-stable
browser:
	@for b in $(BROWSERS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "make browser: the tests need Chromium (headless); install it, e.g. 'sudo apt-get install chromium', then run make test again" >&2; exit 1; fi; \
	echo "make browser: installing Chromium with apt-get"; \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test: lint browser
	$(BIN)/python -m pytest

# The default sweep; its report goes to results/ and its figures and summary.md beside it.
bench: $(STAMP)
	$(BIN)/python -m pytest bench --benchmark-only --plot

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks .ruff_cache *.egg-info
