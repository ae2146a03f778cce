"""Environment diagnosis (``dbx-ops doctor``) and the local lakehouse smoke run.

Both do real work: the doctor writes and reads back a tiny Delta table, the
smoke run creates a catalog table, changes it, time-travels and restores it,
and checks each step's result.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbx_ops import __version__, render, runtime
from dbx_ops.errors import DbxOpsError, DoctorError, EnvironmentSetupError
from dbx_ops.names import parse_table_name, quote_identifier
from dbx_ops.verdict import Check, Verdict, checks_html, checks_markdown

logger = logging.getLogger(__name__)


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class DoctorReport(Verdict):
    """What ``dbx-ops doctor`` found.

    Attributes:
        checks: one :class:`~dbx_ops.verdict.Check` per thing checked (``delta_jars``, ``java``,
            ``runtime``, ``delta``, ``workspace_credentials``).
        facts: versions and paths.
        environment_ok: False when the failure is a missing setup step (exit 2), not a failed check.
    """

    checks: tuple[Check, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    environment_ok: bool = True

    @property
    def error_class(self) -> type[DbxOpsError]:  # type: ignore[override]
        return DoctorError if self.environment_ok else EnvironmentSetupError

    @property
    def ok(self) -> bool:
        """True when the environment is set up and every check passed."""
        return self.environment_ok and all(c.ok for c in self.checks)

    def check(self, name: str) -> Check | None:
        """The check named ``name``, or None when it was not run."""
        return next((c for c in self.checks if c.name == name), None)

    def summary(self) -> str:
        """One sentence: the verdict and what failed."""
        failed = [c for c in self.checks if not c.ok]
        if not failed:
            return f"dbx_ops doctor: ok ({len(self.checks)} checks)."
        return "dbx_ops doctor found problems: " + "; ".join(f"{c.name}: {c.message}" for c in failed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``checks`` is keyed by check name."""
        return {
            "ok": self.ok,
            "environment_ok": self.environment_ok,
            "summary": self.summary(),
            "checks": {c.name: c.to_dict() for c in self.checks},
            "facts": dict(self.facts),
        }

    def to_text(self) -> str:
        """Plain text for a terminal."""
        lines = [f"dbx-ops {self.facts.get('dbx_ops')}"]
        lines += [f"  {key:<18} {value}" for key, value in self.facts.items() if key != "dbx_ops"]
        lines.append("checks:")
        lines += [f"  {render.text_mark(c.ok)} {c.name}: {c.message}" for c in self.checks]
        lines.append("result: " + ("ok" if self.ok else "problems found"))
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Markdown: the verdict, the facts, the checks."""
        facts = render.md_table([[k, v] for k, v in self.facts.items()], ["fact", "value"])
        return f"# {self.summary()}\n\n{facts}\n\n{checks_markdown(self.checks)}\n"

    def to_html(self) -> str:
        """HTML for ``displayHTML``."""
        facts = render.html_table([[k, v] for k, v in self.facts.items()], ["fact", "value"])
        return render.container(
            render.verdict_card("dbx_ops doctor", self.ok, self.summary()),
            render.section("Checks", checks_html(self.checks)),
            render.section("Facts", facts),
        )


def delta_round_trip(spark: Any, folder: str) -> str:
    """Write a 3-row Delta table at ``folder``, append, read both versions back.

    Returns:
        A one-line description of what was proven.

    Raises:
        DbxOpsError: if anything read back differs from what was written.
    """
    table = parse_table_name(f"delta.`{folder}`")
    spark.range(3).write.format("delta").mode("overwrite").save(folder)
    spark.range(3, 5).write.format("delta").mode("append").save(folder)
    now = spark.sql(f"SELECT count(*) AS n, sum(id) AS s FROM {table.sql}").first()  # noqa: S608
    then = spark.sql(f"SELECT count(*) AS n FROM {table.sql} VERSION AS OF 0").first()  # noqa: S608
    if (now["n"], now["s"], then["n"]) != (5, 10, 3):
        raise DbxOpsError(
            f"Delta round trip read back {now['n']} rows (sum {now['s']}), version 0 {then['n']}."
        )
    return "wrote 3 rows, appended 2, read 5 now and 3 at version 0"


def diagnose(
    env: Mapping[str, str] | None = None,
    spark_factory: Callable[[], Any] | None = None,
) -> DoctorReport:
    """Check where dbx_ops runs and whether Delta and the workspace are usable.

    Args:
        env: environment mapping; os.environ when None.
        spark_factory: returns a Spark session; ``runtime.get_spark(env)`` when None.
    """
    facts: dict[str, Any] = {
        "dbx_ops": __version__,
        "where": "databricks" if runtime.is_databricks(env) else "local",
        "python": platform.python_version(),
        "java": runtime.java_version() or "not found",
        "pyspark": _dist_version("pyspark") or "not installed",
        "delta-spark": _dist_version("delta-spark") or "not installed",
        "databricks-sdk": _dist_version("databricks-sdk") or "not installed",
        "spark_mode": "runtime" if runtime.is_databricks(env) else runtime.spark_mode(env),
        "state_home": str(runtime.state_home(env)),
    }
    if runtime.is_databricks(env):
        facts["runtime_version"] = runtime.runtime_version(env)
    checks: list[Check] = []
    environment_ok = True
    supported, why = runtime.runtime_support(env)
    checks.append(Check("runtime", supported, "a supported runtime", facts["python"], why))

    if not runtime.is_databricks(env):
        try:
            jars = runtime.delta_jars(env)
            checks.append(Check("delta_jars", True, message=", ".join(j.name for j in jars)))
        except EnvironmentSetupError as exc:
            checks.append(Check("delta_jars", False, message=str(exc)))
            environment_ok = False
        if facts["java"] == "not found":
            checks.append(
                Check("java", False, message="Java 17 not found on PATH; install it or set JAVA_HOME.")
            )
            environment_ok = False
        if facts["pyspark"] == "not installed":
            checks.append(
                Check(
                    "pyspark",
                    False,
                    message="pyspark is not installed; install dbx-ops with its spark extra "
                    "(pip install 'dbx_ops-<version>-py3-none-any.whl[spark]') for local work.",
                )
            )
            environment_ok = False

    if environment_ok:
        started = time.perf_counter()
        try:
            spark = spark_factory() if spark_factory else runtime.get_spark(env)
            facts["spark"] = spark.version
            spark_ok, spark_why = runtime.spark_support(spark.version)
            checks.append(Check("spark", spark_ok, "Spark 3.5 or 4.0", spark.version, spark_why))
            if runtime.is_databricks(env):
                folder = f"/tmp/dbx_ops_doctor/{uuid.uuid4().hex}"
            else:
                folder = str(runtime.state_home(env) / "doctor" / uuid.uuid4().hex)
            detail = delta_round_trip(spark, folder)
            checks.append(Check("delta", True, message=f"{detail} ({time.perf_counter() - started:.1f}s)"))
            if not runtime.is_databricks(env):
                shutil.rmtree(folder, ignore_errors=True)
        except Exception as exc:
            logger.debug("delta check failed", exc_info=True)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            checks.append(Check("delta", False, message=f"Delta write/read failed: {first}"))

    ws = runtime.workspace_configured(env)
    facts["workspace_host"] = ws["host"] or "not set"
    facts["workspace_auth"] = ws["auth"] or "none"
    configured = (
        "configured" if ws["configured"] else "not configured (set DATABRICKS_HOST and DATABRICKS_TOKEN)"
    )
    checks.append(Check("workspace_credentials", True, message=configured + " - optional for local work"))
    return DoctorReport(checks=tuple(checks), facts=facts, environment_ok=environment_ok)


@dataclass(frozen=True)
class SmokeStep:
    """One step of the smoke run."""

    name: str
    ok: bool
    detail: str
    seconds: float


def lakehouse_smoke(spark: Any, schema: str = "dbx_ops_smoke") -> list[SmokeStep]:
    """Exercise the local lakehouse end to end on a catalog table.

    Creates ``schema.smoke_<id>``, inserts, deletes, time-travels, restores to
    the first version and checks the count is back, then drops the table.

    Returns:
        The steps, each with its verdict; the run stops at the first failure.
    """
    name = parse_table_name(f"{schema}.smoke_{uuid.uuid4().hex[:8]}")
    steps: list[SmokeStep] = []

    def step(label: str, fn: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            detail, ok = fn(), True
        except Exception as exc:
            detail, ok = (str(exc).strip().splitlines() or [type(exc).__name__])[0], False
        steps.append(SmokeStep(label, ok, detail, round(time.perf_counter() - started, 3)))
        return ok

    def create() -> str:
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
        spark.sql(f"CREATE TABLE {name.sql} (id BIGINT, label STRING) USING DELTA")
        spark.sql(f"INSERT INTO {name.sql} SELECT id, concat('row-', id) FROM range(100)")  # noqa: S608
        return f"created {name} with 100 rows"

    def change() -> str:
        spark.sql(f"DELETE FROM {name.sql} WHERE id % 2 = 0")  # noqa: S608
        n = spark.sql(f"SELECT count(*) AS n FROM {name.sql}").first()["n"]  # noqa: S608
        if n != 50:
            raise DbxOpsError(f"expected 50 rows after the delete, found {n}")
        return "deleted 50 rows"

    def travel() -> str:
        n = spark.sql(f"SELECT count(*) AS n FROM {name.sql} VERSION AS OF 1").first()["n"]  # noqa: S608
        if n != 100:
            raise DbxOpsError(f"expected 100 rows at version 1, found {n}")
        return "version 1 still has 100 rows"

    def restore() -> str:
        spark.sql(f"RESTORE TABLE {name.sql} TO VERSION AS OF 1")
        n = spark.sql(f"SELECT count(*) AS n FROM {name.sql}").first()["n"]  # noqa: S608
        if n != 100:
            raise DbxOpsError(f"expected 100 rows after RESTORE, found {n}")
        return "RESTORE brought back 100 rows"

    def drop() -> str:
        spark.sql(f"DROP TABLE IF EXISTS {name.sql}")
        return f"dropped {name}"

    for label, fn in (("create", create), ("change", change), ("time travel", travel), ("restore", restore)):
        if not step(label, fn):
            break
    step("clean up", drop)
    return steps
