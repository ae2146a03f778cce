"""Checklists against the stand-in workspace: SCIM Me groups for sign-off, workspace verifiers."""

from __future__ import annotations

import pytest

from dbx_ops.checklists import (
    ChecklistRun,
    ItemState,
    MemoryEventStore,
    RunContext,
    TemplateLibrary,
    detect_actor,
)
from dbx_ops.checklists.model import Item
from dbx_ops.checklists.verifiers import VerifierContext, run_verifier
from dbx_ops.errors import ChecklistRefusedError

TEMPLATE = """
name: ws-mini
version: "1"
title: Workspace mini
roles:
  Tech Lead: {group: tech-leads}
  Developer: {}
signoff: [Tech Lead]
phases:
  - name: One
    items:
      - {id: a, text: A}
"""


def _run(ws):
    tpl = TemplateLibrary().load_text(TEMPLATE, "ws-mini.yml")
    return ChecklistRun.start(tpl, MemoryEventStore(), detect_actor(ws=ws), run_id="ws-1")


def test_actor_comes_from_scim_me(workspace):
    actor = detect_actor(ws=workspace, env={})
    assert actor.name == workspace.current_user.me().user_name
    assert actor.group_names() is not None


def test_group_bound_signoff_is_refused_outside_the_group(workspace):
    run = _run(workspace)
    me = workspace.current_user.me()
    assert "tech-leads" not in {g.display for g in me.groups or []}
    with pytest.raises(ChecklistRefusedError, match=r"not a member of group 'tech-leads'"):
        run.sign("Tech Lead", "go")
    assert run.state().signoffs == ()  # the refusal recorded nothing
    run.sign("Developer", "go")  # a role without a group is open to anyone
    assert [s.role for s in run.state().signoffs] == ["Developer"]


def test_group_member_may_sign(workspace):
    from databricks.sdk.service.iam import ComplexValue

    me = workspace.current_user.me()
    workspace.groups.create(display_name="tech-leads", members=[ComplexValue(value=me.id)])
    assert "tech-leads" in {g.display for g in workspace.current_user.me().groups or []}
    run = _run(workspace)
    run.sign("Tech Lead", "go")
    assert run.gate().ok is False  # item a is still pending
    assert [s.role for s in run.state().signoffs] == ["Tech Lead"]


def _verify(name, ws, **params):
    return run_verifier(Item("x", "x", verifier=name, params=params), RunContext(), VerifierContext(ws=ws))


def test_token_expiry_a_long_lived_token_fails(workspace):
    workspace.tokens.create(comment="long-lived", lifetime_seconds=365 * 86400)
    result = _verify("tokens_expire", workspace, max_days=90)
    assert result.state == ItemState.FAIL and "long-lived" in " ".join(e.value for e in result.evidence)


def test_ip_access_lists_none_enabled_fails(workspace):
    for existing in workspace.ip_access_lists.list():
        workspace.ip_access_lists.delete(existing.list_id)
    assert _verify("ip_access_lists", workspace).state == ItemState.FAIL


@pytest.fixture(scope="module")
def bare_server():
    """A real HTTP server that serves no API at all (404 ENDPOINT_NOT_FOUND), as an old workspace would."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from databricks.sdk import WorkspaceClient

    class NoApi(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = json.dumps({"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NoApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WorkspaceClient(host=f"http://127.0.0.1:{server.server_port}", token="t")
    finally:
        server.shutdown()


@pytest.mark.parametrize("verifier", ["tokens_expire", "ip_access_lists"])
def test_an_endpoint_the_workspace_does_not_serve_is_not_available_never_a_pass(bare_server, verifier):
    result = _verify(verifier, bare_server)
    assert result.state == ItemState.NOT_AVAILABLE and "does not serve" in result.reason


def test_job_clusters_policy_and_run_as_on_real_jobs(workspace):
    from databricks.sdk.service import compute, jobs

    cluster = compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1)
    task = jobs.Task(
        task_key="t",
        notebook_task=jobs.NotebookTask(notebook_path="/Shared/nb"),
        new_cluster=cluster,
    )
    bare = workspace.jobs.create(name="bare-job", tasks=[task]).job_id
    policy = workspace.cluster_policies.create(
        name="job-clusters", definition='{"spark_version": {"type": "unlimited"}}'
    ).policy_id
    governed_cluster = compute.ClusterSpec(
        spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1, policy_id=policy
    )
    governed = workspace.jobs.create(
        name="governed-job",
        tasks=[
            jobs.Task(
                task_key="t",
                notebook_task=jobs.NotebookTask(notebook_path="/Shared/nb"),
                new_cluster=governed_cluster,
            )
        ],
        run_as=jobs.JobRunAs(service_principal_name="11111111-2222-3333-4444-555555555555"),
    ).job_id
    assert _verify("job_clusters_use_policy", workspace, jobs=str(bare)).state == ItemState.FAIL
    assert _verify("job_clusters_use_policy", workspace, jobs=str(governed)).state == ItemState.PASS
    assert _verify("prod_run_as_service_principal", workspace, jobs=str(bare)).state == ItemState.FAIL
    assert _verify("prod_run_as_service_principal", workspace, jobs=str(governed)).state == ItemState.PASS


def test_secret_scopes_exist(workspace):
    workspace.secrets.create_scope(scope="prod")
    workspace.secrets.put_secret(scope="prod", key="db-password", string_value="x")
    assert _verify("secret_scopes_exist", workspace, scopes="prod/db-password").state == ItemState.PASS
    missing = _verify("secret_scopes_exist", workspace, scopes="prod/other,nope")
    assert (
        missing.state == ItemState.FAIL
        and "scope nope" in missing.reason
        and "key prod/other" in missing.reason
    )
