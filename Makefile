# Everything a fresh machine needs, idempotently. Two commands matter:
#   make run    the main job (local lakehouse smoke run)
#   make test   lint + unit tests + integration tests (Spark classic and Spark Connect)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
JARS := .cache/jars
PYTEST_FLAGS ?= --durations=15

.PHONY: setup venv jars run smoke doctor test lint unit integration integration-classic integration-connect bench bench-lock clean

setup: venv jars workspace notebook-env

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q "uv==$(UV_VERSION)"
	$(PY) -m uv pip install --python $(PY) -q -e '.[dev]'
	@touch $@

jars: $(JARS)/.fetched

# Delta's Python wheel has no JARs: fetch the matching delta-spark_2.13 and
# delta-storage with Maven (Spark's own Ivy download may not get through).
$(JARS)/.fetched: tools/delta-jars/pom.xml
	@mkdir -p $(JARS)
	mvn -q -B -f tools/delta-jars/pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DexcludeGroupIds=org.scala-lang,org.antlr \
	  -DoutputDirectory=$(CURDIR)/$(JARS)
	@touch $@

# The local stand-in workspace (tools/workspace: the Databricks CLI's own
# libs/testserver served on 127.0.0.1, plus the Jobs endpoints dbx_ops needs) and
# the real `databricks` CLI from the same module version, both built with the
# machine's Go from the module proxy into .cache/bin; rebuilt only when the
# sources change.
WORKSPACE_BIN := .cache/bin/dbx-workspace
DATABRICKS_BIN := .cache/bin/databricks

.PHONY: workspace
workspace: $(WORKSPACE_BIN) $(DATABRICKS_BIN)

$(WORKSPACE_BIN): tools/workspace/main.go tools/workspace/go.mod tools/workspace/go.sum
	@mkdir -p $(@D)
	cd tools/workspace && go build -o $(CURDIR)/$@ .

$(DATABRICKS_BIN): tools/workspace/go.mod tools/workspace/go.sum
	@mkdir -p $(@D)
	cd tools/workspace && go build -o $(CURDIR)/$@ \
	  -ldflags "-X github.com/databricks/cli/internal/build.buildVersion=$$(go list -m -f '{{.Version}}' github.com/databricks/cli | sed 's/^v//')" \
	  github.com/databricks/cli

run: setup
	$(VENV)/bin/dbx-ops smoke

smoke: run

doctor: setup
	$(VENV)/bin/dbx-ops doctor

lint: venv
	$(VENV)/bin/ruff check dbx_ops tests benchmarks
	$(VENV)/bin/ruff format --check dbx_ops tests benchmarks
	$(VENV)/bin/mypy

unit: venv
	$(PY) -m pytest tests/unit -q $(PYTEST_FLAGS) || [ $$? -eq 5 ]

integration-classic: setup
	DBX_OPS_SPARK=classic $(PY) -m pytest tests/integration -q $(PYTEST_FLAGS) || [ $$? -eq 5 ]

# The Spark-backed tests again, through a local Spark Connect session.
integration-connect: setup
	DBX_OPS_SPARK=connect $(PY) -m pytest tests/integration -q -m spark $(PYTEST_FLAGS) || [ $$? -eq 5 ]

integration: integration-classic integration-connect

test: setup lint unit unit-ipywidgets7 integration

bench: setup
	$(PY) benchmarks/run_all.py $(BENCH)

# Dependency locking: uv vs pip-compile, init script on a matching node (results in BENCHMARKS.md).
bench-lock: setup
	$(PY) benchmarks/bench_lock.py --repeat 3

# Snapshots: pin cost at 10 thousand vs 10 million rows, restore vs rewrite (results in BENCHMARKS.md).
.PHONY: bench-snapshot
bench-snapshot: setup
	$(PY) benchmarks/bench_snapshot.py --repeat 3

clean:
	rm -rf .dbx_ops .pytest_cache .mypy_cache .ruff_cache

# Validation: GE 1.x suite vs dbx_ops, profile vs a noop scan, Spark jobs, metadata count (5M rows).
.PHONY: bench-validation
bench-validation: setup
	$(PY) benchmarks/bench_validation.py --rows 5000000

# Checklist widgets: Debian's chromium for the browser test (Playwright drives it; it cannot
# download a browser of its own), and a second small venv with the ipywidgets 7.8.1 that
# Databricks runtimes ship (no Spark), where the widget unit tests run again.
VENV7 ?= .venv-ipyw7
IPYWIDGETS7 := ipywidgets==7.8.1

.PHONY: notebook-env browser unit-ipywidgets7
notebook-env: browser $(VENV7)/.installed

browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

$(VENV7)/.installed: pyproject.toml $(VENV)/.installed
	@test -x $(VENV7)/bin/python || $(PYTHON) -m venv --without-pip $(VENV7)
	$(PY) -m uv pip install --python $(VENV7)/bin/python -q -e . "$(IPYWIDGETS7)" "pytest>=8" "pytest-timeout>=2.3"
	@touch $@

WIDGET_TESTS = $(wildcard tests/unit/test_checklist_widgets*.py)
unit-ipywidgets7: $(VENV7)/.installed
	$(if $(WIDGET_TESTS),$(VENV7)/bin/python -m pytest $(WIDGET_TESTS) -q -p no:cacheprovider $(PYTEST_FLAGS),@echo "no widget tests")
