# Everything a fresh machine needs, idempotently. Two commands matter:
#   make run    the main job: the rollback drill on the local lakehouse
#   make test   lint + unit tests + integration tests (Spark classic and Spark Connect)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
JARS := .cache/jars
PYTEST_FLAGS ?= --durations=15

.PHONY: setup venv jars run smoke doctor test lint unit integration integration-classic integration-connect bench bench-lock clean

setup: venv jars workspace venv-spark35 jars-spark35 notebook-env

venv: $(VENV)/.installed

# --compile-bytecode: every `dbx-ops` process imports pyspark, pandas and pyarrow; compiled once here
# they load in about 1 s instead of 3 (a shell with PYTHONDONTWRITEBYTECODE would compile them
# again on every start).
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q "uv==$(UV_VERSION)"
	$(PY) -m uv pip install --python $(PY) -q --compile-bytecode -e '.[dev]'
	$(PY) -m compileall -q dbx_ops
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

$(WORKSPACE_BIN): $(wildcard tools/workspace/*.go) tools/workspace/go.mod tools/workspace/go.sum
	@mkdir -p $(@D)
	cd tools/workspace && go build -o $(CURDIR)/$@ .

$(DATABRICKS_BIN): tools/workspace/go.mod tools/workspace/go.sum
	@mkdir -p $(@D)
	cd tools/workspace && go build -o $(CURDIR)/$@ \
	  -ldflags "-X github.com/databricks/cli/internal/build.buildVersion=$$(go list -m -f '{{.Version}}' github.com/databricks/cli | sed 's/^v//')" \
	  github.com/databricks/cli

# The Spark 3.5 line (DBR 15.4 / 16.4 LTS): its own environment with pyspark 3.5 and the
# open-source Delta that pairs with it (delta-spark 3.3.x, Scala 2.12 JARs). pyspark 3.5.6
# and later break Delta 3.3's overwrite path (delta-io/delta#4671), so 3.5.5 is pinned;
# the runtimes' own Spark (3.5.0, 3.5.2) is older still.
VENV35 := .venv-spark35
PY35 := $(VENV35)/bin/python
JARS35 := .cache/jars-spark35
SPARK35_PINS := 'pyspark[connect]==3.5.5' 'delta-spark==3.3.2' 'pandas>=2.2,<3'

.PHONY: venv-spark35 jars-spark35 integration-spark35
venv-spark35: $(VENV35)/.installed

$(VENV35)/.installed: pyproject.toml
	@test -x $(PY35) || $(PYTHON) -m venv $(VENV35)
	@$(PY35) -m pip install -q "uv==$(UV_VERSION)"
	$(PY35) -m uv pip install --python $(PY35) -q --compile-bytecode -e '.[deps]' $(SPARK35_PINS) \
	  'great-expectations>=1.3,<2' pytest pytest-timeout pytest-xdist chispa scipy hypothesis
	@touch $@

jars-spark35: $(JARS35)/.fetched

$(JARS35)/.fetched: tools/delta-jars-spark35/pom.xml
	@mkdir -p $(JARS35)
	mvn -q -B -f tools/delta-jars-spark35/pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DexcludeGroupIds=org.scala-lang,org.antlr \
	  -DoutputDirectory=$(CURDIR)/$(JARS35)
	@touch $@

# The representative Spark tests (marked compat) on pyspark 3.5, classic mode.
SPARK35_MARK ?= compat
integration-spark35: setup
	DBX_OPS_SPARK=classic DBX_OPS_JARS=$(CURDIR)/$(JARS35) $(PY35) -m pytest tests/integration -q \
	  -m "$(SPARK35_MARK)" -p no:cacheprovider $(PYTEST_FLAGS) || [ $$? -eq 5 ]

# The main job: the rollback drill on the local lakehouse (reports under .dbx_ops/drill/<label>/).
run: setup
	$(VENV)/bin/dbx-ops drill

smoke: setup
	$(VENV)/bin/dbx-ops smoke

doctor: setup
	$(VENV)/bin/dbx-ops doctor

lint: venv
	$(VENV)/bin/ruff check dbx_ops tests benchmarks
	$(VENV)/bin/ruff format --check dbx_ops tests benchmarks
	$(VENV)/bin/mypy

unit: venv
	$(PY) -m pytest tests/unit -q $(PYTEST_FLAGS) || [ $$? -eq 5 ]

# The full suite on 4.0 classic, spread over XDIST worker processes (each with its own Spark
# session and state folder; a test file stays on one worker, so module fixtures are shared).
# Spark tests wait on the JVM, the stand-in and subprocesses as much as on the CPU, so two
# workers on two cores finish well before one. XDIST=0 runs everything in one process.
XDIST ?= 2
XDIST_FLAGS = $(if $(filter 0,$(XDIST)),,-n $(XDIST) --dist loadfile)
integration-classic: setup
	DBX_OPS_SPARK=classic $(PY) -m pytest tests/integration -q $(XDIST_FLAGS) $(PYTEST_FLAGS) || [ $$? -eq 5 ]

# The representative Spark tests (marked compat in tests/conftest.py) again, through a local
# Spark Connect session (the serverless / shared-cluster kind of session).
CONNECT_MARK ?= compat
integration-connect: setup
	DBX_OPS_SPARK=connect $(PY) -m pytest tests/integration -q -m "$(CONNECT_MARK)" $(PYTEST_FLAGS) || [ $$? -eq 5 ]

# The two compat lines run side by side (different JVMs, different interpreters; only the
# Connect line uses the Connect port), each with its output kept together.
integration: integration-classic
	$(MAKE) --no-print-directory -j2 --output-sync=target integration-connect integration-spark35

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
# download a browser of its own), and two small venvs (no Spark) with the ipywidgets 7.x that
# Databricks runtimes ship, where the widget unit tests run again: 7.8.1 (17.3, serverless v4)
# and 7.7.2 (15.4 and 16.4 LTS) with 15.4's own kernel stack (data/dbr-baselines/15.4.x-scala2.12).
VENV7 ?= .venv-ipyw7
IPYWIDGETS7 := ipywidgets==7.8.1
VENV772 ?= .venv-ipyw772
IPYWIDGETS772 := ipywidgets==7.7.2 traitlets==5.7.1 ipykernel==6.25.1 ipython==8.15.0 comm==0.1.2

.PHONY: notebook-env browser unit-ipywidgets7
notebook-env: browser $(VENV7)/.installed $(VENV772)/.installed

browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

$(VENV7)/.installed: pyproject.toml $(VENV)/.installed
	@test -x $(VENV7)/bin/python || $(PYTHON) -m venv --without-pip $(VENV7)
	$(PY) -m uv pip install --python $(VENV7)/bin/python -q --compile-bytecode -e . "$(IPYWIDGETS7)" "pytest>=8" "pytest-timeout>=2.3"
	@touch $@

$(VENV772)/.installed: pyproject.toml $(VENV)/.installed
	@test -x $(VENV772)/bin/python || $(PYTHON) -m venv --without-pip $(VENV772)
	$(PY) -m uv pip install --python $(VENV772)/bin/python -q --compile-bytecode -e . $(IPYWIDGETS772) "pytest>=8" "pytest-timeout>=2.3"
	@touch $@

WIDGET_TESTS = $(wildcard tests/unit/test_checklist_widgets*.py)
WIDGET_PYTEST = -m pytest $(WIDGET_TESTS) -q -p no:cacheprovider $(PYTEST_FLAGS)
unit-ipywidgets7: $(VENV7)/.installed $(VENV772)/.installed
	$(if $(WIDGET_TESTS),$(VENV772)/bin/python $(WIDGET_PYTEST) && $(VENV7)/bin/python $(WIDGET_PYTEST),@echo "no widget tests")

# The rollback drill end to end against a bare Spark start-up, per-step seconds and Spark jobs.
.PHONY: bench-drill
bench-drill: setup
	$(PY) benchmarks/bench_drill.py
