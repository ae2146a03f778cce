"""Start, stop, kill and script the local stand-in workspace (tools/workspace).

Used by the ``workspace`` pytest fixture and by anyone who wants a local
workspace for the ``databricks`` CLI or the databricks-sdk::

    from standin import StandIn
    with StandIn.start(state_file="/tmp/ws.json") as ws_server:
        print(ws_server.host, ws_server.token)   # DATABRICKS_HOST / DATABRICKS_TOKEN

``notebook_python=PATH`` makes it execute notebook tasks of ``jobs/run-now`` and
``jobs/runs/submit`` with ``PATH -m dbx_ops notebook run`` (see runner.go); runs
then live under ``runs_dir`` (default: ``runs/`` next to the state file).

The binary is ``.cache/bin/dbx-workspace`` (``make workspace`` builds it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / ".cache" / "bin" / "dbx-workspace"

_BY_HOST: dict[str, StandIn] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StandIn:
    """One running stand-in workspace process."""

    port: int
    state_file: Path | None
    token: str = field(default_factory=lambda: f"dbapi0{uuid.uuid4().hex}")
    process: subprocess.Popen | None = None
    log: Path | None = None
    notebook_python: str | None = None
    runs_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        state_file: str | Path | None = None,
        port: int | None = None,
        log: Path | None = None,
        notebook_python: str | Path | None = None,
        runs_dir: str | Path | None = None,
        env: dict[str, str] | None = None,
    ) -> StandIn:
        """Start a stand-in; ``notebook_python`` turns on notebook task execution.

        Args:
            state_file: file the workspace state persists to (and is loaded from).
            port: 127.0.0.1 port (default: a free one).
            log: file for the server's stderr.
            notebook_python: python that runs ``-m dbx_ops notebook run`` for notebook tasks.
            runs_dir: folder for executed runs (default: ``runs/`` next to the state file).
            env: extra environment for the server (and so for the notebook processes).
        """
        if not BINARY.is_file():
            raise RuntimeError(f"{BINARY} is missing: run 'make workspace' to build the stand-in workspace.")
        server = cls(
            port=port or free_port(),
            state_file=Path(state_file) if state_file else None,
            log=log,
            notebook_python=str(notebook_python) if notebook_python else None,
            runs_dir=Path(runs_dir) if runs_dir else None,
            extra_env=dict(env or {}),
        )
        server.launch()
        _BY_HOST[server.host] = server
        return server

    def launch(self) -> None:
        args = [str(BINARY), "-addr", f"127.0.0.1:{self.port}"]
        if self.state_file:
            args += ["-state", str(self.state_file)]
        if self.notebook_python:
            args += ["-notebook-python", self.notebook_python]
        if self.runs_dir:
            args += ["-runs-dir", str(self.runs_dir)]
        env = {**os.environ, **self.extra_env}
        if self.log:
            with open(self.log, "ab") as err:  # the child keeps its own copy of the handle
                self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        else:
            self.process = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.process.kill()
            raise RuntimeError(f"the stand-in workspace did not start (printed {line!r})")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.admin("GET", "/__dbx/ping")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the stand-in workspace does not answer")

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.host + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode() or "null"
        return json.loads(text)

    # -- scripting -------------------------------------------------------------------------------

    def queue_outcomes(self, job_name: str, *outcomes: dict[str, Any]) -> None:
        """The next runs of ``job_name`` end like this (result_state, duration_ms, hold, state_message)."""
        self.admin("POST", "/__dbx/outcomes", {"job_name": job_name, "outcomes": list(outcomes)})

    def complete_run(
        self, run_id: int, result_state: str = "SUCCESS", duration_ms: int = 60_000, **kw: Any
    ) -> Any:
        """Finish a run now with this result and duration."""
        return self.admin(
            "POST",
            "/__dbx/runs/complete",
            {"run_id": run_id, "result_state": result_state, "duration_ms": duration_ms, **kw},
        )

    def fault(
        self, pattern: str, status: int = 500, times: int = 1, retry_after: int = 0, offset: int = 0
    ) -> None:
        """The next ``times`` requests matching ``pattern`` ("POST /api/2.2/jobs/reset") fail."""
        self.admin(
            "POST",
            "/__dbx/fault",
            {
                "pattern": pattern,
                "status": status,
                "times": times,
                "retry_after": retry_after,
                "offset": offset,
            },
        )

    def notifications(self, run_id: int | None = None) -> list[dict[str, Any]]:
        """The email notifications executed runs sent (event, recipients, result), oldest first."""
        query = f"?run_id={run_id}" if run_id is not None else ""
        return list(self.admin("GET", f"/__dbx/notifications{query}")["notifications"])

    def die_on(self, pattern: str, offset: int = 0) -> None:
        """The server process exits when a request matching ``pattern`` arrives (after ``offset`` of them)."""
        self.admin("POST", "/__dbx/die", {"pattern": pattern, "offset": offset})

    # -- lifecycle -------------------------------------------------------------------------------

    def run_dir(self, run_id: int) -> Path:
        """The folder of an executed run (its workspace copy, site, home and per-task files)."""
        if self.runs_dir:
            return self.runs_dir / str(run_id)
        if self.state_file:
            return self.state_file.parent / "runs" / str(run_id)
        raise RuntimeError("this stand-in has no known runs folder (pass runs_dir or state_file)")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_dead(self, timeout: float = 10) -> int | None:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        """Start again on the same port with the same state file."""
        self.kill()
        self.launch()

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        _BY_HOST.pop(self.host, None)

    def env(self) -> dict[str, str]:
        """Environment for the databricks CLI / SDK pointing at this workspace."""
        return {**os.environ, "DATABRICKS_HOST": self.host, "DATABRICKS_TOKEN": self.token}

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def of(host: str) -> StandIn:
    """The running stand-in serving ``host`` (e.g. ``ws.config.host``)."""
    return _BY_HOST[host.rstrip("/")]
