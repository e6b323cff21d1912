# Two commands on a fresh machine (Python 3.11):
#   make conformance   the full conformance run on every backend, then the report in report/
#   make test          the suite's own tests
# Both create .venv with every framework pinned (pyproject.toml) on first use.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
REPORT ?= report
PYTEST_ARGS ?=

.PHONY: conformance test install lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,dev]"
	@# tf-keras declares the full `tensorflow` package; it runs on tensorflow-cpu, so no deps
	$(PY) -m pip install --quiet --no-deps tf-keras==2.21.0
	touch $@

install: $(VENV)/.installed

conformance: $(VENV)/.installed
	@mkdir -p $(REPORT)
	$(PY) -m pytest conformance --json $(REPORT)/results.json $(PYTEST_ARGS); status=$$?; \
	$(PY) -m conformance report $(REPORT)/results.json --output $(REPORT) || exit $$?; \
	exit $$status

test: $(VENV)/.installed
	$(PY) -m pytest tests $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed
	$(PY) bench/benchmark.py

clean:
	rm -rf $(VENV) $(REPORT) .tox
