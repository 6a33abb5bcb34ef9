# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install binaries test lint unit integration crds demo clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

binaries:
	bash hack/build-binaries.sh >/dev/null

lint: install
	$(PY) -m ruff check operator tests $(wildcard bench)
	$(PY) -m ruff format --check operator tests $(wildcard bench)
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile

unit: install
	$(PY) -m pytest tests/unit

test: install binaries lint
	$(PY) -m pytest

crds: install
	$(VENV)/bin/leakwatch crds --output-dir crds --output-dir helm/leakwatch/crds

demo: install binaries
	$(PY) -m leakwatch.dev.demo $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
