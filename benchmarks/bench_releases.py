"""Rollback to the last known-good release vs the bare workspace calls it is made of.

On the local stand-in workspace (notebook tasks run by the test suite's fake runner, so
no Spark starts and the run itself is near-instant), a job whose notebook imports its
own wheel is deployed as v1 (recorded and verified) and broken as v2. Then, repeated:

* **bare**: what a person would type without dbx_ops: upload v1's wheel and notebook
  (``workspace.import_``), ``jobs.reset`` to v1's definition, ``jobs.run_now`` and poll
  the run until it ends;
* **dbx_ops**: ``Releases.rollback`` (sha256 checks of the kept artifact, the same
  uploads, the jobs package's direct deploy with its backup and manifest, the smoke run,
  every step an event in the releases folder), then v2 deployed again for the next round.

Prints the medians and the ratio (dbx_ops / bare): the cost of making the rollback
recorded, checked and resumable. Folder only (no Delta table: that is a Spark append per
event and is measured by the state benchmarks).

Usage: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_releases.py [--repeat 5]``
(needs ``make workspace``). Prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "workspace"))

ROOT = "/Workspace/Users/bench@example.com/.bundle/shop/prod/files"
NOTEBOOK = f"{ROOT}/notebooks/smoke"
JOB = "bench-smoke"


def wheel(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"relpkg-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("relpkg/__init__.py", f"VERSION = {version!r}\n")
        z.writestr(f"relpkg-{version}.dist-info/METADATA", f"Name: relpkg\nVersion: {version}\n")
    return path


def spec(wheel_path: str) -> dict[str, Any]:
    return {
        "name": JOB,
        "tasks": [
            {
                "task_key": "smoke",
                "notebook_task": {"notebook_path": NOTEBOOK},
                "libraries": [{"whl": wheel_path}],
                "existing_cluster_id": "c1",
            }
        ],
        "max_concurrent_runs": 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.jobs import JobSettings
    from databricks.sdk.service.workspace import ImportFormat, Language
    from standin import StandIn

    from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
    from dbx_ops.jobs.rollback import wait_for_run
    from dbx_ops.jobs.store import JobDefinitionStore
    from dbx_ops.releases import Releases

    tmp = Path(tempfile.mkdtemp(prefix="bench-releases-"))
    fake = REPO / "tests" / "integration" / "data" / "fake_notebook_runner.py"
    python = tmp / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    python.chmod(0o755)
    server = StandIn.start(state_file=tmp / "state.json", log=tmp / "server.log", notebook_python=python)
    try:
        ws = WorkspaceClient(host=server.host, token=server.token)
        deployer = JobDeployer(ws, JobDefinitionStore(ws, tmp / "deploy-backups"), sleep=lambda s: None)

        def deploy(version: str, body: str) -> tuple[Path, str]:
            whl = wheel(tmp / f"dist-{version}", version)
            path = f"{ROOT}/artifacts/.internal/{whl.name}"
            for target, data in ((path, whl.read_bytes()), (f"{NOTEBOOK}.py", body.encode())):
                ws.workspace.mkdirs(target.rsplit("/", 1)[0])
                ws.workspace.import_(
                    target, content=base64.b64encode(data).decode(), format=ImportFormat.AUTO, overwrite=True
                )
            deployer.deploy(spec(path), DeployOptions(validate=False, manifest_dir=tmp / "manifests"))
            return whl, path

        good = "# Databricks notebook source\nimport relpkg\ndbutils.notebook.exit(relpkg.VERSION)\n"
        bad = "# Databricks notebook source\nraise ValueError('broken')\n"
        releases = Releases(ws, tmp / "releases", poll_s=0.02, smoke_timeout_s=60)
        whl1, path1 = deploy("1.0.0", good)
        v1 = releases.record("shop", "prod", version="1.0.0", jobs=[JOB], wheel=whl1, smoke_jobs=[JOB])
        assert releases.promote(v1.release_id).known_good
        job_id = v1.jobs[0].job_id
        settings = v1.jobs[0].settings
        source = (tmp / "releases" / v1.files[0].stored).read_bytes()

        def bare() -> None:
            ws.workspace.import_(
                path1,
                content=base64.b64encode(whl1.read_bytes()).decode(),
                format=ImportFormat.AUTO,
                overwrite=True,
            )
            ws.workspace.import_(
                NOTEBOOK,
                content=base64.b64encode(source).decode(),
                format=ImportFormat.SOURCE,
                language=Language.PYTHON,
                overwrite=True,
            )
            ws.jobs.reset(job_id=job_id, new_settings=JobSettings.from_dict(settings))
            run_id = int(ws.jobs.run_now(job_id=job_id).response.run_id or 0)
            assert wait_for_run(ws, run_id, 60, 0.02) == "SUCCESS"

        timings: dict[str, list[float]] = {"bare": [], "dbx_ops": []}
        for _ in range(args.repeat):
            deploy("2.0.0", bad)
            start = time.perf_counter()
            bare()
            timings["bare"].append(time.perf_counter() - start)
            deploy("2.0.0", bad)
            start = time.perf_counter()
            done = releases.rollback("shop", "prod", to=v1.release_id)
            timings["dbx_ops"].append(time.perf_counter() - start)
            assert done.known_good, done.to_text()
        med = {k: statistics.median(v) for k, v in timings.items()}
        summary = {
            "repeat": args.repeat,
            "bare_s": round(med["bare"], 3),
            "dbx_ops_s": round(med["dbx_ops"], 3),
            "ratio": round(med["dbx_ops"] / med["bare"], 2),
            "load_average": os.getloadavg(),
        }
        print(f"bare calls          {med['bare']:.3f} s")
        print(f"Releases.rollback   {med['dbx_ops']:.3f} s   ({summary['ratio']}x bare)")
        print(json.dumps(summary))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
