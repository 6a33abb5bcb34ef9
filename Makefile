# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install venv test lint unit integration generate demo clean

# One install step for everything (Debian packages as root, .venv, Go binaries, node images);
# each part is cached, so a second run only checks. hack/install.sh says what it installs.
install:
	VENV=$(VENV) bash hack/install.sh

# Only the virtualenv: enough for lint and the unit tests.
venv:
	VENV=$(VENV) bash hack/install.sh --python-only

lint: venv
	$(PY) -m ruff check operator dev tests $(wildcard bench)
	$(PY) -m ruff format --check operator dev tests $(wildcard bench)
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile

unit: venv
	$(PY) -m pytest tests/unit

# Everything on Prometheus 3 (what users run), then the memory, alert-rule and dashboard tests
# again on Debian's 2.42, so both lines stay covered.
test: install lint
	$(PY) -m pytest
	LEAKWATCH_PROMETHEUS_LINE=2 $(PY) -m pytest -m prometheus2 tests/integration

# Every generated file, from the code it comes from: the CRDs (crds/ and the chart's crds/, from the
# API models) and the chart's Grafana dashboard. dev/leakwatch_dev/generate.py lists them and
# tests/unit/test_generated.py fails when a committed one drifts.
generate: venv
	$(PY) -m leakwatch_dev.generate

demo: install
	$(PY) -m leakwatch_dev.demo $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
