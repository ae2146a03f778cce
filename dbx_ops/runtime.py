"""Where am I running, and the Spark session and workspace client that go with it.

Inside Databricks (``DATABRICKS_RUNTIME_VERSION`` is set) the active session
and the workspace's own credentials are used. Elsewhere :func:`get_spark`
builds a local Delta-enabled session whose warehouse and Hive metastore live
under the state folder (``DBX_OPS_HOME``, default ``.dbx_ops`` in the working
directory), so catalog tables created by one process are there in the next.

``DBX_OPS_SPARK=connect`` gives a local Spark Connect session instead of a
classic one: the kind of session Databricks serverless and shared clusters
hand to notebooks (no ``sparkContext``, no ``_jvm``).

Nothing here does I/O at import time; pyspark is imported lazily.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import warnings
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbx_ops.errors import DbxOpsError, EnvironmentSetupError, InvalidInputError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

#: The repository root when dbx_ops runs from a checkout (editable install).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
SPARK_MODES = ("classic", "connect")
JARS_COMMAND = "make jars"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def is_databricks(env: Mapping[str, str] | None = None) -> bool:
    """True when running on a Databricks cluster or serverless compute.

    Args:
        env: the environment to read; ``os.environ`` when None.
    """
    return bool(_env(env).get("DATABRICKS_RUNTIME_VERSION"))


def runtime_version(env: Mapping[str, str] | None = None) -> str | None:
    """The Databricks Runtime version (``15.4``), or None when local."""
    return _env(env).get("DATABRICKS_RUNTIME_VERSION") or None


def state_home(env: Mapping[str, str] | None = None) -> Path:
    """The folder holding local state: warehouse, metastore, caches.

    ``DBX_OPS_HOME`` when set, else ``.dbx_ops`` in the working directory.
    """
    raw = _env(env).get("DBX_OPS_HOME")
    return Path(raw).expanduser().resolve() if raw else (Path.cwd() / ".dbx_ops").resolve()


def spark_mode(env: Mapping[str, str] | None = None) -> str:
    """``classic`` or ``connect``, from ``DBX_OPS_SPARK`` (default classic)."""
    mode = (_env(env).get("DBX_OPS_SPARK") or "classic").strip().lower()
    if mode not in SPARK_MODES:
        raise InvalidInputError(f"DBX_OPS_SPARK={mode!r} is not one of {', '.join(SPARK_MODES)}.")
    return mode


def jars_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the Delta JARs are cached: ``DBX_OPS_JARS`` or ``.cache/jars`` in the project."""
    raw = _env(env).get("DBX_OPS_JARS")
    return Path(raw).expanduser().resolve() if raw else PROJECT_ROOT / ".cache" / "jars"


def delta_jars(env: Mapping[str, str] | None = None) -> list[Path]:
    """The cached Delta JARs, checked to be present.

    Raises:
        EnvironmentSetupError: when the JARs have not been fetched yet.
    """
    folder = jars_dir(env)
    jars = sorted(folder.glob("*.jar")) if folder.is_dir() else []
    if not any(j.name.startswith("delta-spark_") for j in jars) or not any(
        j.name.startswith("delta-storage-") for j in jars
    ):
        raise EnvironmentSetupError(
            f"The Delta Lake JARs are missing from {folder}; run `{JARS_COMMAND}` in the project folder "
            "(or set DBX_OPS_JARS to a folder holding delta-spark_2.13 and delta-storage)."
        )
    return jars


#: The JVM flags of ``DBX_OPS_JVM=quick``. A local dbx_ops process is short (a CLI command, the
#: drill, a test run) and most of its work is many small queries. With the JVM's defaults the
#: C2 compiler alone took 97 of the 235 CPU-seconds of a drill on two cores, for code that ran
#: a few seconds, and G1's concurrent threads another 15. C1 only (level 1) compiles quickly
#: and enough; its code stays in a large code cache that is never flushed, so nothing is
#: compiled twice; the parallel collector has no concurrent threads. The same drill then took
#: 124 CPU-seconds. ``DBX_OPS_JVM=full`` keeps the JVM's defaults, for long scans of large
#: tables (the benchmarks), where C2's code pays back.
QUICK_JVM = (
    "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=512m -XX:-UseCodeCacheFlushing -XX:+UseParallelGC"
)
#: The values ``DBX_OPS_JVM`` takes.
JVM_MODES = ("quick", "full")


@dataclass(frozen=True)
class LocalSparkConfig:
    """Settings of the local session.

    Attributes:
        home: the state folder.
        jars: JARs handed to Spark with ``spark.jars``.
        shuffle_partitions: ``spark.sql.shuffle.partitions`` (small: the machine has 2 cores).
        master: the local master URL.
        app_name: Spark application name.
        jvm: ``quick`` (default) or ``full``: the JVM's compiler and collector settings
            (``DBX_OPS_JVM``), see :data:`QUICK_JVM`.
    """

    home: Path
    jars: tuple[Path, ...]
    shuffle_partitions: int = 4
    jvm: str = "quick"
    master: str = "local[2]"
    app_name: str = "dbx-ops"
    metastore_url: str | None = None
    metastore_client: Path | None = None

    def conf(self) -> dict[str, str]:
        """The Spark configuration for a local Delta-enabled session.

        With ``metastore_url`` (the shared metastore server of :mod:`dbx_ops.metastore`) the
        Hive metastore connects to it with the Derby client; else it is embedded Derby.
        """
        warehouse = self.home / "warehouse"
        metastore = self.home / "metastore_db"
        log4j = self.home / "log4j2.properties"
        java_opts = f"-Dderby.system.home={self.home} -Dlog4j2.configurationFile=file:{log4j}"
        if self.jvm == "quick":
            java_opts += " " + QUICK_JVM
        shared: dict[str, str] = {}
        if self.metastore_url:
            shared = {
                "spark.hadoop.javax.jdo.option.ConnectionURL": self.metastore_url,
                "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.ClientDriver",
            }
            if self.metastore_client is not None:
                shared["spark.driver.extraClassPath"] = str(self.metastore_client)
        return {
            "spark.jars": ",".join(str(j) for j in self.jars if not j.name.startswith("derby")),
            "spark.sql.extensions": DELTA_EXTENSION,
            "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(warehouse),
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={metastore};create=true"
            ),
            "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
            "spark.hadoop.hive.metastore.schema.verification": "false",
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.default.parallelism": str(self.shuffle_partitions),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.memory": "2g",
            "spark.driver.extraJavaOptions": java_opts,
            "spark.databricks.delta.snapshotPartitions": "2",
            "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
            **shared,
        }


# The local JVM's logging: errors only. Delta's REPLACE (an overwrite of a table) asks the
# embedded Hive metastore to alter the table's columns; Hive refuses, since Delta registers its
# tables without Hive columns, and Delta goes on with the schema in its log. Hive's two handlers
# log that refusal as an ERROR with a 100-line stack trace per table, which buried the drill's
# progress; they are off. A metastore failure still reaches Spark, and the caller, as an exception.
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.hive.name = org.apache.hadoop.hive
logger.hive.level = error
logger.datanucleus.name = DataNucleus
logger.datanucleus.level = error
logger.hivealter.name = org.apache.hadoop.hive.metastore.HiveAlterHandler
logger.hivealter.level = off
logger.hmshandler.name = org.apache.hadoop.hive.metastore.RetryingHMSHandler
logger.hmshandler.level = off
"""


def local_spark_config(env: Mapping[str, str] | None = None) -> LocalSparkConfig:
    """The local session's settings for this environment (checks the JARs are there).

    Does no I/O beyond listing the JARs: the shared metastore server (``DBX_OPS_METASTORE``)
    is started by :func:`get_spark`.
    """
    return LocalSparkConfig(home=state_home(env), jars=tuple(delta_jars(env)), jvm=jvm_mode(env))


def jvm_mode(env: Mapping[str, str] | None = None) -> str:
    """``quick`` or ``full``, from ``DBX_OPS_JVM`` (default quick; see :data:`QUICK_JVM`)."""
    mode = (_env(env).get("DBX_OPS_JVM") or "quick").strip().lower()
    if mode not in JVM_MODES:
        raise InvalidInputError(f"DBX_OPS_JVM={mode!r} is not one of {', '.join(JVM_MODES)}.")
    return mode


def _prepare_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "warehouse").mkdir(exist_ok=True)
    log4j = home / "log4j2.properties"
    if not log4j.exists() or log4j.read_text() != _LOG4J:
        log4j.write_text(_LOG4J)


def _check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home) / "bin" / "java" if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise EnvironmentSetupError("Java 17 is needed for local Spark; install it or set JAVA_HOME.")


def get_spark(env: Mapping[str, str] | None = None, mode: str | None = None) -> SparkSession:
    """The Spark session to use.

    Inside Databricks: the active session. Elsewhere: a local Delta-enabled
    session (classic, or Spark Connect with ``mode="connect"`` or
    ``DBX_OPS_SPARK=connect``), created once per process and reused.

    Args:
        env: the environment to read; ``os.environ`` when None.
        mode: ``classic`` or ``connect``; overrides ``DBX_OPS_SPARK``.

    Returns:
        A SparkSession (classic or Connect).

    Raises:
        EnvironmentSetupError: when Java or the Delta JARs are missing.
    """
    from pyspark.sql import SparkSession

    environ = _env(env)
    if is_databricks(environ):
        active = SparkSession.getActiveSession()
        session = active if active is not None else SparkSession.builder.getOrCreate()
        require_supported_spark(session)
        return session

    chosen = spark_mode({"DBX_OPS_SPARK": mode} if mode else environ)
    cfg = local_spark_config(environ)
    if chosen == "classic":
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
    _check_java()
    _prepare_home(cfg.home)
    from dbx_ops import metastore

    shared = metastore.mode(environ, cfg.home) == "server"
    if shared:
        server = metastore.ensure_server(cfg.home, jars_dir(environ))
        cfg = replace(cfg, metastore_url=server.url, metastore_client=metastore.client_jar(jars_dir(environ)))
    builder: Any = SparkSession.builder.appName(cfg.app_name)
    builder = builder.remote(cfg.master) if chosen == "connect" else builder.master(cfg.master)
    for key, value in cfg.conf().items():
        builder = builder.config(key, value)
    if chosen == "classic":
        builder = builder.enableHiveSupport()
    logger.info("starting local %s Spark session, state in %s", chosen, cfg.home)
    with warnings.catch_warnings(), metastore.first_use(cfg.home) if shared else nullcontext(False) as first:
        # A Connect client re-sends static settings the local server already
        # started with, and pyspark warns once per setting; they did apply.
        warnings.filterwarnings("ignore", message="Failed to set", category=UserWarning)
        spark = builder.getOrCreate()
        if first:  # one process creates the shared metastore's schema; the others wait for it
            spark.sql("SHOW DATABASES").collect()
    if chosen == "classic":
        spark.sparkContext.setLogLevel("ERROR")
    require_supported_spark(spark)
    return spark


def is_connect(spark: Any) -> bool:
    """True when ``spark`` is a Spark Connect session."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def workspace_configured(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Whether workspace credentials are configured, without exposing any secret.

    Returns:
        ``{"configured": bool, "host": str | None, "auth": str | None}``.
    """
    environ = _env(env)
    if is_databricks(environ):
        return {"configured": True, "host": environ.get("DATABRICKS_HOST"), "auth": "runtime"}
    host = environ.get("DATABRICKS_HOST")
    auth = None
    if environ.get("DATABRICKS_TOKEN"):
        auth = "pat"
    elif environ.get("DATABRICKS_CLIENT_ID") and environ.get("DATABRICKS_CLIENT_SECRET"):
        auth = "oauth-m2m"
    elif environ.get("DATABRICKS_CONFIG_PROFILE") or (Path.home() / ".databrickscfg").exists():
        auth = "profile"
    return {"configured": bool(host and auth) or auth == "profile", "host": host, "auth": auth}


#: Bounds of every workspace call unless the caller says otherwise (seconds): one HTTP
#: request, and all retries of one call together (no retry starts after it; the one
#: running may take a request's time more). A dead workspace stops a command within a
#: minute instead of the SDK's default of 5 minutes of retries: measured with
#: benchmarks/bench_unreachable.py (a host that accepts and never answers is the slowest
#: case: the probe, then two requests of DEFAULT_HTTP_TIMEOUT each; see BENCHMARKS.md).
DEFAULT_HTTP_TIMEOUT = 15
DEFAULT_RETRY_TIMEOUT = 20


def _timeout(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name}={raw!r} must be a whole number of seconds.") from None
    if value <= 0:
        raise InvalidInputError(f"{name}={raw!r} must be a positive number of seconds.")
    return value


def workspace_client(env: Mapping[str, str] | None = None, **kwargs: Any) -> WorkspaceClient:
    """A WorkspaceClient: the workspace's own credentials inside Databricks, env/profile elsewhere.

    Every call is bounded: ``DBX_OPS_HTTP_TIMEOUT`` seconds per request (default 15) and
    ``DBX_OPS_RETRY_TIMEOUT`` seconds for all retries of one call (default 20). The
    configuration is resolved here, so a missing or malformed host is one clear
    :class:`~dbx_ops.errors.EnvironmentSetupError`, not a traceback at the first call.

    Args:
        env: environment to read ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` from; os.environ when None.
        **kwargs: passed to ``WorkspaceClient`` (host, token, ...).

    Raises:
        EnvironmentSetupError: no workspace configured, or the host is not a URL.
    """
    from databricks.sdk import WorkspaceClient

    environ = _env(env)
    if env is not None and not kwargs:
        if env.get("DATABRICKS_HOST"):
            kwargs["host"] = env["DATABRICKS_HOST"]
        if env.get("DATABRICKS_TOKEN"):
            kwargs["token"] = env["DATABRICKS_TOKEN"]
    kwargs.setdefault("http_timeout_seconds", _timeout(environ, "DBX_OPS_HTTP_TIMEOUT", DEFAULT_HTTP_TIMEOUT))
    kwargs.setdefault(
        "retry_timeout_seconds", _timeout(environ, "DBX_OPS_RETRY_TIMEOUT", DEFAULT_RETRY_TIMEOUT)
    )
    host = kwargs.get("host") or environ.get("DATABRICKS_HOST")
    if host:
        _check_host(str(host))
    try:
        # The timeouts are Config settings (WorkspaceClient's own signature does not take them).
        config = kwargs.pop("config", None) or _bounded_config(**kwargs)
        ws = WorkspaceClient(config=config)
        ws.config.host  # noqa: B018 - resolves the configuration now
    except ValueError as exc:
        raise EnvironmentSetupError(
            "No Databricks workspace is configured: set DATABRICKS_HOST and DATABRICKS_TOKEN "
            f"(or a profile) ({str(exc).splitlines()[0]})."
        ) from exc
    return ws


#: Seconds the SDK's best-effort host-metadata probe may take when the client is built.
METADATA_PROBE_TIMEOUT = 5


def _bounded_config(**kwargs: Any) -> Any:
    """A databricks-sdk ``Config`` whose host-metadata probe is bounded and quiet.

    ``Config()`` fetches ``/.well-known/databricks-config`` from the host with the whole
    retry budget, so against a dead host the client alone took that budget (and logged a
    warning) before the first real call. The probe is best effort: when the host does not
    even accept a connection it is skipped (the first real call then says so in one sentence).
    """
    import socket
    from urllib.parse import urlparse

    from databricks.sdk.core import Config

    Config.attributes()  # cached on Config itself, so the subclass below sees the same settings

    class BoundedConfig(Config):
        def _resolve_host_metadata(self) -> None:
            host = str(self.host or "")
            parsed = urlparse(host if "://" in host else f"https://{host}")
            port = parsed.port or (80 if parsed.scheme == "http" else 443)
            try:
                with socket.create_connection((parsed.hostname or "", port), timeout=METADATA_PROBE_TIMEOUT):
                    pass
            except OSError as exc:
                logger.debug("host metadata of %s skipped: %s", host, exc)
                return
            # Both bounds: a host that accepts connections and never answers would otherwise
            # hold the probe for a whole request timeout before the first real call.
            saved = self.retry_timeout_seconds, self.http_timeout_seconds
            self.retry_timeout_seconds = min(int(saved[0] or METADATA_PROBE_TIMEOUT), METADATA_PROBE_TIMEOUT)
            self.http_timeout_seconds = min(float(saved[1] or METADATA_PROBE_TIMEOUT), METADATA_PROBE_TIMEOUT)
            try:
                super()._resolve_host_metadata()
            finally:
                self.retry_timeout_seconds, self.http_timeout_seconds = saved

    return BoundedConfig(**kwargs)


def _check_host(host: str) -> None:
    from urllib.parse import urlparse

    candidate = host if "://" in host else f"https://{host}"
    parsed = urlparse(candidate)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or " " in host:
        raise EnvironmentSetupError(
            f"DATABRICKS_HOST={host!r} is not a workspace URL; set it to https://<your-workspace-host>."
        )


def workspace_error(exc: BaseException, doing: str = "calling the workspace") -> DbxOpsError | None:
    """The dbx_ops error for a failed workspace call, or None when ``exc`` is not one.

    Maps the SDK's and ``requests``' errors to one sentence: unreachable or timed out
    (:class:`~dbx_ops.errors.WorkspaceUnreachableError`), not found
    (:class:`~dbx_ops.errors.NotFoundError`), refused (:class:`~dbx_ops.errors.WorkspaceError`).
    Never includes a token.

    Args:
        exc: the exception raised by a workspace call.
        doing: what was being done, for the message (``"rolling back job 42"``).
    """
    from dbx_ops.errors import NotFoundError, WorkspaceError, WorkspaceUnreachableError

    if isinstance(exc, DbxOpsError):
        return exc
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else name
    import requests  # comes with databricks-sdk

    network: tuple[type[BaseException], ...] = (requests.ConnectionError, requests.Timeout)
    if isinstance(exc, (*network, TimeoutError, ConnectionError)) or name in (
        "TimeoutError",
        "DeadlineExceeded",
    ):
        return WorkspaceUnreachableError(
            f"The workspace did not answer while {doing} ({name}); check DATABRICKS_HOST and the network, "
            "then run the command again (nothing more was changed)."
        )
    try:
        from databricks.sdk.errors import DatabricksError, NotFound, PermissionDenied, Unauthenticated
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, NotFound):
        return NotFoundError(f"Not found while {doing}: {text}")
    if isinstance(exc, Unauthenticated | PermissionDenied):
        return WorkspaceError(f"The workspace refused the credentials while {doing}: {text}")
    if isinstance(exc, DatabricksError):
        if "timed out" in text.lower() or "timeout" in name.lower():
            return WorkspaceUnreachableError(
                f"The workspace did not answer while {doing} ({text}); run the command again to continue."
            )
        return WorkspaceError(f"The workspace refused a request while {doing}: {text}")
    return None


def java_version() -> str | None:
    """The ``java -version`` line, or None when Java is not found."""
    java = shutil.which("java")
    if not java:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = (out.stderr or out.stdout).strip().splitlines()
    return first[0] if first else None


def current_user(spark: Any) -> str | None:
    """The current user as Spark sees it (``current_user()``), or the OS user locally."""
    try:
        row = spark.sql("SELECT current_user() AS u").first()
        if row and row["u"]:
            return str(row["u"])
    except Exception:
        logger.debug("current_user() not available", exc_info=True)
    return os.environ.get("USER") or None


# -- supported runtimes ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimeInfo:
    """One Databricks Runtime line and what dbx_ops supports on it.

    Attributes:
        name: the runtime as users know it (``15.4 LTS``).
        dbr: the ``DATABRICKS_RUNTIME_VERSION`` prefix (``15.4``), or ``serverless-v4``.
        spark: the Spark version it ships.
        python: the Python version it ships.
        library: whether the dbx_ops library itself runs there.
        locks: whether dbx_ops ships a lock and (for clusters) an init script for it.
        note: why not, or what to know.
    """

    name: str
    dbr: str
    spark: str
    python: str
    library: bool
    locks: bool
    note: str = ""


#: The runtimes users have, newest last; the README's table is this one.
RUNTIMES: tuple[RuntimeInfo, ...] = (
    RuntimeInfo(
        "14.3 LTS",
        "14.3",
        "3.5.0",
        "3.10",
        False,
        True,
        "Python 3.10 is older than the library needs (3.11); its lock and init script still work.",
    ),
    RuntimeInfo("15.4 LTS", "15.4", "3.5.0", "3.11", True, True),
    RuntimeInfo("16.4 LTS", "16.4", "3.5.2", "3.12", True, True),
    RuntimeInfo("17.3 LTS", "17.3", "4.0.0", "3.12", True, True),
    RuntimeInfo(
        "serverless v4",
        "serverless-v4",
        "4.0.0",
        "3.12",
        True,
        True,
        "Serverless compute runs no init scripts: the lock is applied as the environment's dependencies.",
    ),
)

#: The Spark lines the library is tested on (major, minor).
SUPPORTED_SPARK = ((3, 5), (4, 0))
#: The oldest Python the library runs on.
MIN_PYTHON = (3, 11)


def _major_minor(version: str) -> tuple[int, int] | None:
    import re

    match = re.match(r"\s*(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def spark_support(spark_version: str) -> tuple[bool, str]:
    """Whether the library supports this Spark version, and one sentence saying why (not).

    Args:
        spark_version: ``spark.version`` (``3.5.0``, ``4.0.1``, ``14.3.x-...`` is not a Spark version).
    """
    mm = _major_minor(spark_version)
    lines = " and ".join(f"{a}.{b}" for a, b in SUPPORTED_SPARK)
    if mm is None:
        return (
            False,
            f"Spark version {spark_version!r} is not a version number; dbx_ops supports Spark {lines}.",
        )
    if mm in SUPPORTED_SPARK:
        return True, f"Spark {spark_version} is supported (dbx_ops is tested on Spark {lines})."
    return False, (
        f"Spark {spark_version} is not supported: dbx_ops runs on Spark {lines} "
        "(Databricks Runtime 15.4 LTS or newer); use a supported runtime for this cluster."
    )


def runtime_info(dbr_version: str | None) -> RuntimeInfo | None:
    """The row of :data:`RUNTIMES` for ``DATABRICKS_RUNTIME_VERSION`` (``15.4``, ``client.4.9``...)."""
    if not dbr_version:
        return None
    text = dbr_version.strip()
    if text.startswith("client."):  # serverless reports its environment version as client.N.M
        major = text.split(".")[1] if "." in text else ""
        return next((r for r in RUNTIMES if r.dbr == f"serverless-v{major}"), None)
    mm = _major_minor(text)
    return next((r for r in RUNTIMES if _major_minor(r.dbr) == mm), None) if mm else None


def runtime_support(
    env: Mapping[str, str] | None = None,
    spark_version: str | None = None,
    python_version: tuple[int, int] | None = None,
) -> tuple[bool, str]:
    """Whether dbx_ops supports where it runs: the runtime, its Spark and its Python.

    Returns:
        ``(supported, one sentence)``.
    """
    import sys

    py = python_version or (sys.version_info.major, sys.version_info.minor)
    if py < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return (
            False,
            f"Python {py[0]}.{py[1]} is older than dbx_ops needs ({need}); use DBR 15.4 LTS or newer.",
        )
    environ = _env(env)
    dbr = runtime_version(environ)
    info = runtime_info(dbr)
    if dbr and info is None:
        known = ", ".join(r.name for r in RUNTIMES if r.library)
        return False, f"Databricks Runtime {dbr} is not one dbx_ops is tested on ({known})."
    if info is not None and not info.library:
        return False, f"Databricks Runtime {info.name}: {info.note}"
    if spark_version:
        ok, why = spark_support(spark_version)
        if not ok:
            return ok, why
    where = f"Databricks Runtime {info.name}" if info else "local"
    return True, f"{where} with Python {py[0]}.{py[1]}" + (
        f" and Spark {spark_version}" if spark_version else ""
    ) + " is supported."


def require_supported_spark(spark: Any) -> None:
    """Refuse an unsupported Spark with one sentence, before any query can fail inside it.

    Raises:
        EnvironmentSetupError: when ``spark.version`` is not a supported line.
    """
    version = str(getattr(spark, "version", "") or "")
    ok, why = spark_support(version)
    if not ok:
        raise EnvironmentSetupError(why)
