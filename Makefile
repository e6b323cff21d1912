# Two commands on a fresh machine (Python 3.11, 3.12 or 3.13; 3.11 is the default):
#   make test          the suite's own tests
#   make conformance   the full conformance run on every backend, then the report in report/
# Both create .venv with every framework pinned (pyproject.toml) on first use.
# Another interpreter: make PYTHON=python3.12 test

PYTHON ?= python3.11
SUPPORTED_PYTHONS := 3.11 3.12 3.13
comma := ,
VENV   ?= .venv
PY     := $(VENV)/bin/python
REPORT ?= report
PYTEST_ARGS ?=

.PHONY: conformance test install lint bench selftest clean

# Expanded only when .venv has to be made: one line naming the interpreter and the way out.
PYTHON_VERSION = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
CHECK_PYTHON = $(if $(filter $(SUPPORTED_PYTHONS),$(PYTHON_VERSION)),,$(error \
  $(if $(PYTHON_VERSION),$(PYTHON) is Python $(PYTHON_VERSION),$(PYTHON) was not found or does not run); \
  this project needs Python 3.11$(comma) 3.12 or 3.13: name one with make PYTHON=python3.12 $(or $(MAKECMDGOALS),test) (a full path works too)))

$(VENV)/.installed: pyproject.toml
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,dev]"
	@# backend-no-deps:start (generated from the adapters' declarations by python -m conformance catalogue --write)
	@# tf-keras: tf-keras==2.21.0 is installed with pip --no-deps: it declares the full `tensorflow`
	@# package, which would clash with tensorflow-cpu (it runs on tensorflow-cpu)
	$(PY) -m pip install --quiet --no-deps tf-keras==2.21.0
	@# backend-no-deps:end
	touch $@

install: $(VENV)/.installed

# The seventh column: the Flax NNX adapter of examples/flax_nnx/, a package outside the core (its
# pyproject pins flax and optax releases that fit the pinned jax, so it shares .venv). Non-blocking
# while new: an install failure, an error or a divergence of this column never fails the target;
# its results are merged into the same report when its run completed. About 1 minute of CPU: 2 to
# 3.5 minutes of wall time on a busy 2-core machine (the six framework columns: 4.5 minutes there).
# The three exported columns (onnx, litert) are built-in backends, installed by [all] and run by the
# same blocking `pytest conformance`: about 3.5 more minutes of CPU (torch-onnx 1.2, keras ONNX 0.7,
# LiteRT 1.6); the nine columns took 13 minutes of wall time at a load of 10 to 14 on 2 cores.
FLAX_EXAMPLE := examples/flax_nnx
FLAX_BACKEND ?= flax-nnx

$(VENV)/.flax-installed: $(VENV)/.installed $(FLAX_EXAMPLE)/pyproject.toml
	$(PY) -m pip install --quiet -e $(FLAX_EXAMPLE) && touch $@

conformance: $(VENV)/.installed
	@mkdir -p $(REPORT)
	$(PY) -m pytest conformance --json $(REPORT)/results.json $(PYTEST_ARGS); status=$$?; \
	rm -f $(REPORT)/flax-nnx.json; \
	if $(MAKE) --no-print-directory $(VENV)/.flax-installed; then \
	  $(PY) -m pytest conformance --backend $(FLAX_BACKEND) --json $(REPORT)/flax-nnx.json $(PYTEST_ARGS) \
	    || echo "flax-nnx (examples/flax_nnx, non-blocking): the run exited with $$?"; \
	else echo "flax-nnx (examples/flax_nnx, non-blocking): not installed, its column is left out"; fi; \
	if [ -f $(REPORT)/flax-nnx.json ] && $(PY) -m conformance report $(REPORT)/results.json \
	    $(REPORT)/flax-nnx.json --output $(REPORT); then :; else \
	  echo "flax-nnx (non-blocking): the report is made without its column"; \
	  $(PY) -m conformance report $(REPORT)/results.json --output $(REPORT) || exit $$?; fi; \
	exit $$status

# The suite's own tests, one test file per xdist worker (a file's module fixtures, such as a shared
# conformance run, are made once), the costliest files first (tests/xdist_files.py); the slowest are
# marked: PYTEST_ARGS='-m "not slow"' skips them.
test: $(VENV)/.installed
	$(PY) -m pytest tests -n auto --dist loadfile $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed
	$(PY) bench/benchmark.py

selftest: $(VENV)/.installed
	$(PY) -m conformance selftest

clean:
	rm -rf $(VENV) $(REPORT) .tox
