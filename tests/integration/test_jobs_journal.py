"""Rollback journals and deploy manifests in the state schema (Delta), resumable after a dead server."""

from __future__ import annotations

from pathlib import Path

import pytest
import standin
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config

from dbx_ops.errors import WorkspaceError
from dbx_ops.jobs.api import RetryPolicy
from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.journal import JOURNAL_TABLE
from dbx_ops.jobs.rollback import JobRollback, RollbackOptions, RollbackStatus
from dbx_ops.jobs.store import JobDefinitionStore
from dbx_ops.state import StateStore

pytestmark = pytest.mark.workspace

FAST = RollbackOptions(poll_s=0.05, timeout_s=30)


def _spec(notebook: str) -> dict:
    return {
        "name": "delta-journal",
        "tasks": [
            {"task_key": "gold", "notebook_task": {"notebook_path": notebook}, "existing_cluster_id": "c1"}
        ],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
    }


def test_journal_and_manifest_live_in_the_state_schema_and_survive_a_dead_server(
    workspace: WorkspaceClient, spark: object, schema: str, tmp_path: Path
):
    server = standin.of(str(workspace.config.host))
    ws = WorkspaceClient(config=Config(host=server.host, token=server.token, retry_timeout_seconds=2))
    fast = RetryPolicy(attempts=2, base_delay=0.05)
    state = StateStore(spark, schema)
    store = JobDefinitionStore(ws, tmp_path / "bk", store=state, retry=fast)
    deployer = JobDeployer(ws, store, sleep=lambda s: None)
    first = deployer.deploy(_spec("/Workspace/p/gold"), DeployOptions(validate=False))
    assert first.manifest_path == f"{schema}.{JOURNAL_TABLE}[deployment/{first.deployment_id}]"
    job_id = int(first.job_id or 0)
    store.backup([job_id], record=False)
    deployer.deploy(_spec("/Workspace/p/gold_BROKEN"), DeployOptions(validate=False))

    server.die_on("POST /api/2.2/jobs/reset")
    rollback = JobRollback(ws, store, retry=fast, sleep=lambda s: None)  # no folder: the state schema
    where = rf"{JOURNAL_TABLE}\[rollback/{job_id}\]"
    with pytest.raises(WorkspaceError, match=rf"{where}.*run the rollback again"):
        rollback.run(job_id, FAST)
    server.wait_dead()
    server.restart()

    # A fresh process (a new cluster) finds the journal in the table and continues.
    again = JobRollback(ws, JobDefinitionStore(ws, tmp_path / "bk", store=state), sleep=lambda s: None)
    result = again.run(job_id, FAST)
    assert result.status is RollbackStatus.COMPLETED and result.resumed
    assert again.run(job_id, FAST).status is RollbackStatus.ALREADY_ROLLED_BACK
    kinds = {r["kind"] for r in state.read(JOURNAL_TABLE).select("kind").collect()}  # type: ignore[union-attr]
    assert kinds == {"deployment", "rollback", "incidents"}
    assert not any(tmp_path.rglob("*.md")) and not (tmp_path / "manifests").exists()
