"""One local Hive metastore that several Spark processes share, as clusters share one.

By default the local session's metastore is embedded Derby: zero configuration, but
one Spark process per state folder (a second one fails to boot the database). With
``DBX_OPS_METASTORE=server`` the first process starts a Derby network server on
127.0.0.1 for the state folder (``metastore-server.json`` holds its port and pid, a
lock file serialises the start) and every process of that state folder connects to
it; the server outlives the process that started it, is restarted on demand when it
has gone, and is stopped with :func:`stop_server` (``dbx-ops notebook metastore stop``).
When ``DBX_OPS_METASTORE`` is unset, a live server registered for the state folder is
used, else the embedded database, so a child process joins its parent's catalog by
inheriting only ``DBX_OPS_HOME``.

The server runs ``org.apache.derby.drda.NetworkServerControl`` from ``derbynet``
(fetched by ``make jars``) with the Derby engine pyspark ships; the session connects
with ``derbyclient``. Both are the Derby version of pyspark's own ``derby-*.jar``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from dbx_ops.errors import EnvironmentSetupError, InvalidInputError

logger = logging.getLogger(__name__)

MODES = ("embedded", "server")
SERVER_FILE = "metastore-server.json"
LOCK_FILE = "metastore-server.lock"
LOG_FILE = "metastore-server.log"
READY_FILE = "metastore-server.ready"
DATABASE = "metastore_db"
CLIENT_DRIVER = "org.apache.derby.jdbc.ClientDriver"
START_TIMEOUT = 60.0


def mode(env: Mapping[str, str], home: Path) -> str:
    """``embedded`` or ``server`` for this environment and state folder.

    ``DBX_OPS_METASTORE`` when set; otherwise ``server`` when a live server is registered
    for ``home`` (so child processes join it), else ``embedded``.

    Raises:
        InvalidInputError: ``DBX_OPS_METASTORE`` is neither value.
    """
    raw = (env.get("DBX_OPS_METASTORE") or "").strip().lower()
    if raw:
        if raw not in MODES:
            raise InvalidInputError(f"DBX_OPS_METASTORE={raw!r} is not one of {', '.join(MODES)}.")
        return raw
    return "server" if running_server(home) is not None else "embedded"


@dataclass(frozen=True)
class ServerInfo:
    """A registered metastore server: where it listens and its process."""

    port: int
    pid: int

    @property
    def url(self) -> str:
        """The JDBC URL of the shared metastore database."""
        return f"jdbc:derby://127.0.0.1:{self.port}/{DATABASE};create=true"


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(home: Path) -> ServerInfo | None:
    try:
        data = json.loads((home / SERVER_FILE).read_text(encoding="utf-8"))
        return ServerInfo(port=int(data["port"]), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_server(home: Path) -> ServerInfo | None:
    """The live server registered for ``home``, or None."""
    info = _read(home)
    if info is None or not _pid_alive(info.pid) or not _port_open(info.port):
        return None
    return info


@contextlib.contextmanager
def server_lock(home: Path) -> Iterator[None]:
    """Hold the state folder's metastore lock (between processes)."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pyspark_jars() -> Path | None:
    try:
        import pyspark
    except ImportError:  # pragma: no cover - the spark extra is what runs this
        return None
    folder = Path(pyspark.__file__).resolve().parent / "jars"
    return folder if folder.is_dir() else None


def derby_version() -> str | None:
    """The Derby version pyspark ships (``10.16.1.1``), from its ``derby-*.jar``."""
    folder = _pyspark_jars()
    if folder is None:
        return None
    for jar in folder.glob("derby-*.jar"):
        return jar.stem.removeprefix("derby-")
    return None


def _find(folders: list[Path], prefix: str) -> Path | None:
    for folder in folders:
        found = sorted(folder.glob(f"{prefix}-[0-9]*.jar"))
        if found:
            return found[-1]
    return None


def server_classpath(jars_dir: Path) -> list[Path]:
    """The JARs of the network server: derbynet from ``jars_dir``, the engine from pyspark.

    Raises:
        EnvironmentSetupError: a JAR is missing (``make jars`` fetches derbynet and derbyclient).
    """
    folders = [jars_dir, *([p] if (p := _pyspark_jars()) else [])]
    jars = [_find(folders, name) for name in ("derbynet", "derby", "derbyshared", "derbytools")]
    missing = [
        n for n, j in zip(("derbynet", "derby", "derbyshared", "derbytools"), jars, strict=True) if j is None
    ]
    if missing:
        raise EnvironmentSetupError(
            f"The shared metastore needs the Derby {', '.join(missing)} JAR(s) in {jars_dir}; "
            "run `make jars` (or unset DBX_OPS_METASTORE for the embedded metastore)."
        )
    return [j for j in jars if j is not None]


def client_jar(jars_dir: Path) -> Path:
    """The Derby client JAR the session connects with.

    Raises:
        EnvironmentSetupError: when it has not been fetched.
    """
    jar = _find([jars_dir], "derbyclient")
    if jar is None:
        raise EnvironmentSetupError(
            f"The shared metastore needs derbyclient in {jars_dir}; run `make jars` "
            "(or unset DBX_OPS_METASTORE for the embedded metastore)."
        )
    return jar


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise EnvironmentSetupError(
            "Java 17 is needed for the local metastore server; install it or set JAVA_HOME."
        )
    return java


def ensure_server(home: Path, jars_dir: Path, timeout: float = START_TIMEOUT) -> ServerInfo:
    """The state folder's metastore server, started now when none is alive.

    Holds the lock while checking and starting, so concurrent first processes start one
    server. The server is its own session (it survives this process).

    Raises:
        EnvironmentSetupError: Java or a JAR is missing, or the server did not start.
    """
    with server_lock(home):
        info = running_server(home)
        if info is not None:
            return info
        classpath = os.pathsep.join(str(j) for j in server_classpath(jars_dir))
        port = _free_port()
        log = (home / LOG_FILE).open("ab")
        command = [
            _java(),
            f"-Dderby.system.home={home}",
            "-Dderby.drda.host=127.0.0.1",
            "-Xmx256m",
            "-cp",
            classpath,
            "org.apache.derby.drda.NetworkServerControl",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-noSecurityManager",
        ]
        logger.info("starting the shared metastore server for %s on 127.0.0.1:%d", home, port)
        proc = subprocess.Popen(
            command,
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = (home / LOG_FILE).read_text(errors="replace").strip().splitlines()[-3:]
                raise EnvironmentSetupError(
                    f"The shared metastore server for {home} did not start: {' '.join(tail) or 'no output'}."
                )
            if _port_open(port):
                info = ServerInfo(port=port, pid=proc.pid)
                (home / SERVER_FILE).write_text(json.dumps({"port": port, "pid": proc.pid}), encoding="utf-8")
                return info
            time.sleep(0.2)
        proc.kill()
        raise EnvironmentSetupError(
            f"The shared metastore server for {home} did not answer within {timeout:.0f}s."
        )


def stop_server(home: Path, jars_dir: Path | None = None, timeout: float = 30.0) -> bool:
    """Stop the state folder's metastore server; False when none was running.

    Asks the server to shut down (the database closes cleanly), then waits for its process.
    """
    with server_lock(home):
        info = _read(home)
        (home / SERVER_FILE).unlink(missing_ok=True)
        if info is None or not _pid_alive(info.pid):
            return False
        try:
            os.kill(info.pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(info.pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(info.pid, os.WNOHANG)
            time.sleep(0.1)
        if _pid_alive(info.pid):
            os.kill(info.pid, signal.SIGKILL)
        return True


@contextlib.contextmanager
def first_use(home: Path) -> Iterator[bool]:
    """Serialise the creation of the metastore schema between processes.

    Yields True while holding the lock when the shared database has not been initialised
    yet (the caller initialises it, then this marks it ready); False without the lock otherwise.
    """
    if (home / READY_FILE).exists():
        yield False
        return
    with server_lock(home):
        if (home / READY_FILE).exists():
            yield False
            return
        yield True
        (home / READY_FILE).write_text("ok\n", encoding="utf-8")
