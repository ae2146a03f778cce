"""A dead workspace stops a jobs command within a minute: seconds to exit, and the ratio to that bound.

Each case runs ``python -m dbx_ops jobs ...`` as a user would, with the default bounds of
``dbx_ops.runtime.workspace_client`` (no ``DBX_OPS_*_TIMEOUT`` set), and measures the wall time
until the process exits:

* ``refused``: ``DATABRICKS_HOST=http://127.0.0.1:1`` (nothing listens: connection refused);
* ``killed mid-rollback``: the stand-in workspace exits when the rollback sends its reset
  (the journal records pause and cancel; the command must say "run the rollback again");
* ``frozen``: a host that accepts connections and never answers (a hung gateway, a stopped VM):
  every request waits for the read timeout, so this is the slowest case.

Peers measured in the same run: the bare start-up of the command (``dbx-ops --version``) and the
same ``jobs health`` against a live stand-in. Bound: 60 s (issue 11). Usage:
``python benchmarks/bench_unreachable.py [--repeat N]``; results in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "workspace"))

from databricks.sdk import WorkspaceClient
from standin import StandIn

from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.store import JobDefinitionStore
from dbx_ops.runtime import DEFAULT_HTTP_TIMEOUT, DEFAULT_RETRY_TIMEOUT

BOUND_S = 60.0
GUARD_S = 600  # a hang is reported as such, not waited for forever


def _env(host: str, token: str = "dapi-bench") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "DBX_OPS_"))}
    return {**env, "DATABRICKS_HOST": host, "DATABRICKS_TOKEN": token}


def _timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dbx_ops", *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GUARD_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return float(GUARD_S), -1, "hung"
    last = (proc.stderr.strip().splitlines() or [""])[-1]
    return time.perf_counter() - started, proc.returncode, last


class BlackHole:
    """A TCP server that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)


def _rollback_setup(folder: Path) -> tuple[StandIn, int, list[str]]:
    server = StandIn.start(state_file=folder / "state.json")
    ws = WorkspaceClient(host=server.host, token=server.token)
    store = JobDefinitionStore(ws, folder / "bk")
    deployer = JobDeployer(ws, store, sleep=lambda s: None)
    spec = {
        "name": "vanishing",
        "tasks": [
            {"task_key": "t", "existing_cluster_id": "c1", "notebook_task": {"notebook_path": "/good"}}
        ],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
    }
    opts = DeployOptions(validate=False, manifest_dir=folder / "m")
    job_id = int(deployer.deploy(spec, opts).job_id or 0)
    store.backup([job_id])
    spec["tasks"][0]["notebook_task"]["notebook_path"] = "/broken"  # type: ignore[index]
    deployer.deploy(spec, opts)
    args = ["jobs", "rollback", "--job", str(job_id), "--dir", str(folder / "bk")]
    args += ["--journal-dir", str(folder / "j"), "--yes", "--poll", "0.05"]
    return server, job_id, args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    opts = parser.parse_args()
    results: dict[str, list[float]] = {}
    notes: dict[str, str] = {}

    def record(name: str, seconds: float, code: int, line: str) -> None:
        results.setdefault(name, []).append(seconds)
        notes[name] = f"exit {code}: {line[:110]}"

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hole = BlackHole()
        live = StandIn.start(state_file=folder / "live.json")
        try:
            for i in range(opts.repeat):
                record("bare start-up (dbx-ops --version)", *_timed(["--version"], _env(live.host), folder))
                health = ["jobs", "health", "--job", "1", "--no-data-quality"]
                record("live: jobs health", *_timed(health, _env(live.host, live.token), folder))
                refused = _env("http://127.0.0.1:1")
                record("refused: jobs health", *_timed(health, refused, folder))
                dry = ["jobs", "rollback", "--job", "1", "--dry-run", "--journal-dir", "j"]
                record("refused: jobs rollback --dry-run", *_timed(dry, refused, folder))
                record("frozen: jobs health", *_timed(health, _env(hole.host), folder))
                record("frozen: jobs rollback --dry-run", *_timed(dry, _env(hole.host), folder))
                run = folder / f"rb{i}"
                run.mkdir()
                server, job_id, args = _rollback_setup(run)
                try:
                    server.die_on("POST /api/2.2/jobs/reset")
                    seconds, code, line = _timed(args, _env(server.host, server.token), run)
                    record("killed mid-rollback: jobs rollback", seconds, code, line)
                    journal = json.loads((run / "j" / f"{job_id}.json").read_text())
                    notes["killed mid-rollback: jobs rollback"] += f" | journal {journal['status']}"
                finally:
                    server.stop()
        finally:
            live.stop()

    print(
        f"bounds: DBX_OPS_HTTP_TIMEOUT={DEFAULT_HTTP_TIMEOUT}s DBX_OPS_RETRY_TIMEOUT={DEFAULT_RETRY_TIMEOUT}s"
    )
    print(
        f"load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
    )
    print(f"{'case':40} {'median s':>9} {'/ 60 s':>7}  outcome")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:40} {median:9.1f} {median / BOUND_S:7.2f}  {notes[name]}")


if __name__ == "__main__":
    main()
