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

install-test: install $(VENV)/.installed-test

build:
	$(BIN)/cohesio build

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
