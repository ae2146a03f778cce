"""Job operations against the local stand-in workspace, each next to a peer measured in the same run.

* ``health``: ``JobHealthChecker.check`` (stats + four alert rules, 25 runs) against the seed's own
  ``check_job_health`` (seed 000 §5: success rate and mean duration over 10 runs) on the same job.
* ``backup``: ``JobDefinitionStore.backup`` of N jobs (normalise, hash, history, newest file) against a
  naive ``json.dump(ws.jobs.get(id).as_dict())`` per job.
* ``rollback``: a full ``JobRollback.run`` (pause, cancel, restore, resume, verification run, summary)
  against the seed's rollback steps (000 §6) done by hand through the SDK without journal or checks.

Both sides talk to the same stand-in over HTTP, so the ratios are dbx_ops' overhead over the
minimum API work. Prints medians of ``--repeat`` runs and the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "workspace"))

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import CronSchedule, JobSettings, PauseStatus
from standin import StandIn

from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.health import JobHealthChecker
from dbx_ops.jobs.rollback import JobRollback, RollbackOptions
from dbx_ops.jobs.store import JobDefinitionStore


def seed_check_job_health(w: WorkspaceClient, job_id: int) -> dict:
    """Seed 000 §5, as written (minus the datetime field)."""
    runs = list(w.jobs.list_runs(job_id=job_id, completed_only=True, limit=10))
    if not runs:
        return {"status": "NO_RUNS", "healthy": False}
    successful = sum(1 for r in runs if r.state.result_state.value == "SUCCESS")
    success_rate = successful / len(runs)
    durations = [(r.end_time - r.start_time) / 1000 / 60 for r in runs if r.end_time]
    avg_duration = sum(durations) / len(durations) if durations else 0
    return {
        "status": "HEALTHY" if success_rate > 0.9 else "DEGRADED",
        "success_rate": success_rate,
        "avg_duration_minutes": avg_duration,
    }


def seed_rollback(w: WorkspaceClient, job_id: int, previous: dict) -> None:
    """Seed 000 §6's steps through the SDK: pause, cancel, reset (re-enables), run and wait."""
    w.jobs.update(
        job_id,
        new_settings=JobSettings(
            schedule=CronSchedule("0 0 2 * * ?", "UTC", pause_status=PauseStatus.PAUSED)
        ),
    )
    for r in w.jobs.list_runs(job_id=job_id, active_only=True):
        w.jobs.cancel_run(int(r.run_id or 0))
    w.jobs.reset(job_id, new_settings=JobSettings.from_dict(previous))
    run_id = int(w.jobs.run_now(job_id).response.run_id or 0)
    while w.jobs.get_run(run_id).state.life_cycle_state.value != "TERMINATED":  # same 10 ms poll as dbx_ops
        time.sleep(0.01)


def median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def spec(name: str, notebook: str) -> dict:
    return {
        "name": name,
        "tasks": [
            {"task_key": "t", "notebook_task": {"notebook_path": notebook}, "existing_cluster_id": "c"}
        ],
        "schedule": {
            "quartz_cron_expression": "0 0 2 * * ?",
            "timezone_id": "UTC",
            "pause_status": "UNPAUSED",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    results = {}
    with StandIn.start() as server:
        ws = WorkspaceClient(host=server.host, token=server.token)
        job_id = int(ws.jobs.create(**{"name": "bench", "tasks": None}).job_id or 0)
        for i in range(25):
            run_id = int(ws.jobs.run_now(job_id).response.run_id or 0)
            server.complete_run(run_id, "FAILED" if i % 7 == 0 else "SUCCESS", 60_000 + i * 1000)
        checker = JobHealthChecker(ws)
        results["health"] = (
            median(lambda: checker.check(job_id), args.repeat),
            median(lambda: seed_check_job_health(ws, job_id), args.repeat),
        )

        ids = [int(ws.jobs.create(name=f"bench-{i}").job_id or 0) for i in range(args.jobs)]
        store = JobDefinitionStore(ws, tmp / "bk")

        def naive() -> None:
            for i in ids:
                (tmp / f"naive-{i}.json").write_text(json.dumps(ws.jobs.get(i).as_dict()))

        results["backup"] = (median(lambda: store.backup(ids), args.repeat), median(naive, args.repeat))

        ours, peer = [], []
        for k in range(args.repeat):
            deployer = JobDeployer(ws, store, sleep=lambda s: None)
            opts = DeployOptions(validate=False, manifest_dir=tmp / "m")
            jid = int(deployer.deploy(spec(f"rb-{k}", "/good"), opts).job_id or 0)
            good = store.live(jid)[2]
            deployer.deploy(spec(f"rb-{k}", "/bad"), opts)
            t0 = time.perf_counter()
            JobRollback(ws, store, journal_dir=tmp / "j", sleep=lambda s: None).run(
                jid, RollbackOptions(poll_s=0.01)
            )
            ours.append(time.perf_counter() - t0)
            deployer.deploy(spec(f"rb-{k}", "/bad"), opts)
            t0 = time.perf_counter()
            seed_rollback(ws, jid, good)
            peer.append(time.perf_counter() - t0)
        results["rollback"] = (statistics.median(ours), statistics.median(peer))

    print(f"{'operation':<10} {'dbx_ops s':>10} {'peer s':>10} {'ratio':>7}")
    for name, (a, b) in results.items():
        print(f"{name:<10} {a:>10.4f} {b:>10.4f} {a / b:>6.2f}x")


if __name__ == "__main__":
    main()
