# The two commands of the README:
#   make run    install what cohesio needs, build and publish the bundled graph, serve it
#   make test   install what the tests need too, then run the whole suite
# Everything is installed inside the project (.venv/, node_modules/); reruns skip what is done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test install install-test build serve clean

run: install build serve

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed node_modules/.installed

install-test: install install-system $(VENV)/.installed-test

build:
	$(BIN)/cohesio build

# Debian packages the tests need (Virtuoso for the remote backend), installed only when missing.
# Only the -bin package: no service, no database, no dba password prompt (tests/virtuoso.py runs
# its own server in a temporary folder).
SYSTEM_PACKAGES ?= virtuoso-opensource-7-bin chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT  := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600

install-system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(APT) update && $(APT) install -y --no-install-recommends $$missing; fi

serve:
	$(BIN)/cohesio serve

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(VENV)/bin/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf var $(VENV) node_modules
