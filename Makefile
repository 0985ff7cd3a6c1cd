# Herald's two commands: `make run` and `make test` (plus `make bench`).
# Each installs what it needs first; the installs are skipped when nothing changed.

SHELL := /bin/bash
PYTHON ?= $(or $(shell command -v python3.11 2>/dev/null),python3)
# Microsoft's own Functions worker library needs Python 3.13; it checks that our function
# folders bind under the real worker, not just under the emulator.
PYTHON313 ?= $(or $(HERALD_PYTHON313),$(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13)),$(shell command -v python3.13 2>/dev/null))
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_VENV := .venv-runtime
PORT ?= 7071
HTTPS_PORT ?= 7072
SIM_PORT ?= 7073

.PHONY: run test lint bench install clean infra chromium

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# The `herald` command (.venv/bin/herald), running this checkout's code.
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(RUNTIME_VENV)/.installed: requirements.txt
	@if [ -z "$(PYTHON313)" ]; then \
	  echo "Python 3.13 not found: set HERALD_PYTHON313 to a python3.13 interpreter." >&2; exit 1; fi
	test -x $(RUNTIME_VENV)/bin/python || $(PYTHON313) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python -m pip install --quiet --upgrade pip
	# The worker brings its own azure-functions 2.x (1.x stops at Python 3.12).
	grep -v '^azure-functions==' requirements.txt > $(RUNTIME_VENV)/requirements.txt
	$(RUNTIME_VENV)/bin/python -m pip install --quiet -r $(RUNTIME_VENV)/requirements.txt \
	  azure-functions-runtime-v1==1.2.0 protobuf==7.36.2 grpcio==1.85.3
	touch $@

run: install
	$(PY) -m devstack --port $(PORT) --https-port $(HTTPS_PORT) --control-port $(SIM_PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy shared emulator devstack $(patsubst %/function.json,%,$(wildcard */function.json))

# Offline checks of the Bicep (parse, checkov, our own lint); its own venv keeps checkov's
# dependencies away from the app's pins.
infra:
	bash infra/validate.sh

# Debian's Chromium, which the dashboard's browser test drives through playwright-core.
chromium:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

test: install chromium $(RUNTIME_VENV)/.installed lint infra
	$(VENV)/bin/pytest

# h2load (Debian's nghttp2-client) measures the simulators' own ceiling beside our senders.
bench: install
	command -v h2load >/dev/null || (apt-get update -qq && apt-get install -y -qq nghttp2-client)
	$(PY) bench/tags_templates.py
	$(PY) bench/registry.py
	$(PY) bench/pns_senders.py
	$(PY) bench/sending.py
	$(PY) bench/send_floor.py
	$(PY) bench/small_sends.py
	$(PY) bench/template_latency.py
	$(PY) bench/jobs.py
	$(PY) bench/azurite_scale.py

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) .venv-infra node_modules .azurite .mypy_cache .ruff_cache .pytest_cache
