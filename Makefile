# Two commands: `make demo` (set up and run the main job) and `make test` (the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The environment is rebuilt only when what it installs changes (llama-cpp-python takes ~5 min
# to compile on 2 cores; pip's wheel cache makes later rebuilds quick).
STAMP := $(VENV)/.installed-$(shell cat setup.cfg constraints.txt | sha256sum | cut -c1-16)

.PHONY: install demo test lint typecheck browser bench clean

$(STAMP): setup.cfg constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/probe run --suite sensitive

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: browser tests will be skipped (sudo apt-get install chromium)"; fi; }

test: install browser
	$(BIN)/ruff check probes runners analysis reports tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/classify.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
