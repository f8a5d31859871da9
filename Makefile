# The commands of the README. Each creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser the browser tests use: what Debian's chromium package installs
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test lint bench serve browser notebooks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nnscratch reproduce --out reports/latest

test: $(STAMP) lint browser
	$(BIN)/python -m pytest
	NNSCRATCH_QUICK=1 $(BIN)/python -m pytest --nbmake notebooks/

# The chapters as notebooks (notebooks/*.ipynb): each runs top to bottom in place, in its own
# folder, and is stored with its outputs but without execution counts or timestamps.
# NNSCRATCH_QUICK=1 shortens their trainings (as the test target does).
notebooks: $(STAMP)
	$(BIN)/python tools/notebooks.py run

# The browser tests (tests/test_serve_browser.py) drive Debian's Chromium through Playwright.
# As root, install it when it is missing; otherwise those tests say how to get it (and fail
# under CI=true, where they must run).
browser:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
			|| echo "Could not install chromium: the browser tests will say how to get it"; \
	fi

# The web app: draw a digit, watch the network read it (ARGS: models, --port, ...)
serve: $(STAMP)
	$(BIN)/nnscratch serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools

bench: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/bench_train.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
