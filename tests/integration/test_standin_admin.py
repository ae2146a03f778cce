"""The stand-in's workspace-administration endpoints, through the real databricks-sdk.

Tokens, token management, IP access lists and the workspace-conf flag, cluster policies,
SCIM groups / service principals / Me, and secrets: the shapes follow the REST API
reference, and everything survives a restart of the stand-in on its state file.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import standin
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (
    InvalidParameterValue,
    NotFound,
    ResourceConflict,
    ResourceDoesNotExist,
)
from databricks.sdk.service import iam
from databricks.sdk.service.settings import ListType


def _restart(ws: WorkspaceClient) -> None:
    standin.of(str(ws.config.host)).restart()


def test_tokens_create_list_delete_with_expiry(workspace: Any) -> None:
    ws: WorkspaceClient = workspace
    before = time.time() * 1000
    short = ws.tokens.create(comment="ci", lifetime_seconds=3600)
    default = ws.tokens.create(comment="no lifetime")
    assert short.token_value and short.token_value.startswith("dapi")
    info = short.token_info
    assert info is not None and info.comment == "ci"
    assert info.creation_time is not None and info.creation_time >= before - 1000
    assert info.expiry_time == info.creation_time + 3_600_000
    # No lifetime: valid for two years (REST API reference).
    d = default.token_info
    assert d is not None and d.expiry_time is not None and d.creation_time is not None
    assert d.expiry_time - d.creation_time == 2 * 365 * 24 * 3600 * 1000

    listed = {t.token_id: t for t in ws.tokens.list()}
    assert {info.token_id, d.token_id} <= set(listed)
    assert listed[info.token_id].expiry_time == info.expiry_time

    assert info.token_id is not None
    ws.tokens.delete(info.token_id)
    assert info.token_id not in {t.token_id for t in ws.tokens.list()}
    with pytest.raises(ResourceDoesNotExist):
        ws.tokens.delete(info.token_id)
    with pytest.raises(InvalidParameterValue):
        ws.tokens.create(lifetime_seconds=-5)


def test_token_management_sees_every_users_tokens(workspace: Any) -> None:
    ws: WorkspaceClient = workspace
    server = standin.of(str(ws.config.host))
    seeded = server.admin(
        "POST",
        "/__dbx/tokens",
        {
            "token_infos": [
                {"comment": "legacy", "created_by_username": "old@example.com", "created_by_id": 42},
                {"comment": "soon", "expiry_time": int(time.time() * 1000) + 86_400_000},
            ]
        },
    )["token_ids"]
    legacy_id, soon_id = seeded
    mine = ws.tokens.create(comment="mine", lifetime_seconds=60).token_info
    assert mine is not None

    everyone = {t.token_id: t for t in ws.token_management.list()}
    assert {legacy_id, soon_id, mine.token_id} <= set(everyone)
    legacy = everyone[legacy_id]
    assert legacy.expiry_time == -1  # never expires
    assert legacy.created_by_username == "old@example.com" and legacy.created_by_id == 42
    assert everyone[mine.token_id].created_by_username == ws.current_user.me().user_name
    # /token/list only shows the caller's own tokens.
    assert legacy_id not in {t.token_id for t in ws.tokens.list()}

    by_user = list(ws.token_management.list(created_by_username="old@example.com"))
    assert [t.token_id for t in by_user] == [legacy_id]
    got = ws.token_management.get(soon_id).token_info
    assert got is not None and got.comment == "soon"

    ws.token_management.delete(legacy_id)
    with pytest.raises(NotFound):
        ws.token_management.get(legacy_id)
    _restart(ws)
    assert soon_id in {t.token_id for t in ws.token_management.list()}
    assert legacy_id not in {t.token_id for t in ws.token_management.list()}


def test_ip_access_lists_crud_and_the_feature_flag(workspace: Any) -> None:
    ws: WorkspaceClient = workspace
    assert ws.workspace_conf.get_status(keys="enableIpAccessLists") == {"enableIpAccessLists": None}
    created = ws.ip_access_lists.create(
        label="office", list_type=ListType.ALLOW, ip_addresses=["10.0.0.0/16", "192.168.1.7"]
    ).ip_access_list
    assert created is not None and created.list_id
    assert created.enabled is True and created.address_count == 2
    assert created.list_type == ListType.ALLOW

    ws.ip_access_lists.update(created.list_id, ip_addresses=["10.0.0.0/8"], enabled=False)
    got = ws.ip_access_lists.get(created.list_id).ip_access_list
    assert got is not None
    assert got.ip_addresses == ["10.0.0.0/8"] and got.address_count == 1
    assert got.enabled is False and got.label == "office"

    ws.ip_access_lists.replace(
        created.list_id, label="vpn", list_type=ListType.ALLOW, enabled=True, ip_addresses=["1.2.3.4"]
    )
    assert [(x.label, x.ip_addresses) for x in ws.ip_access_lists.list()] == [("vpn", ["1.2.3.4"])]

    with pytest.raises(InvalidParameterValue):
        ws.ip_access_lists.create(label="bad", list_type=ListType.BLOCK, ip_addresses=["10.0.0.300"])
    # A list that would block the caller (127.0.0.1) is refused (INVALID_STATE).
    with pytest.raises(Exception, match=r"127\.0\.0\.1"):
        ws.ip_access_lists.create(label="me", list_type=ListType.BLOCK, ip_addresses=["127.0.0.0/8"])

    ws.workspace_conf.set_status({"enableIpAccessLists": "true"})
    assert ws.workspace_conf.get_status(keys="enableIpAccessLists") == {"enableIpAccessLists": "true"}
    with pytest.raises(InvalidParameterValue):
        ws.workspace_conf.set_status({"enableIpAccessLists": "yes"})
    with pytest.raises(InvalidParameterValue):
        ws.workspace_conf.get_status(keys="noSuchKey")

    _restart(ws)
    assert ws.workspace_conf.get_status(keys="enableIpAccessLists") == {"enableIpAccessLists": "true"}
    ws.ip_access_lists.delete(created.list_id)
    assert list(ws.ip_access_lists.list()) == []
    with pytest.raises(NotFound):
        ws.ip_access_lists.get(created.list_id)


def test_cluster_policies_crud(workspace: Any) -> None:
    ws: WorkspaceClient = workspace
    definition = json.dumps({"spark_version": {"type": "fixed", "value": "15.4.x-scala2.12"}})
    pid = ws.cluster_policies.create(
        name="jobs-small", definition=definition, max_clusters_per_user=2
    ).policy_id
    assert pid
    p = ws.cluster_policies.get(pid)
    assert p.name == "jobs-small" and json.loads(p.definition or "") == json.loads(definition)
    assert p.max_clusters_per_user == 2 and p.creator_user_name == ws.current_user.me().user_name
    assert p.created_at_timestamp

    ws.cluster_policies.edit(pid, name="jobs-small", description="small job clusters")
    assert ws.cluster_policies.get(pid).description == "small job clusters"
    other = ws.cluster_policies.create(name="a-first", definition="{}").policy_id
    from databricks.sdk.service.compute import ListSortColumn, ListSortOrder

    names = [
        x.name
        for x in ws.cluster_policies.list(
            sort_column=ListSortColumn.POLICY_NAME, sort_order=ListSortOrder.ASC
        )
    ]
    assert names == ["a-first", "jobs-small"]

    with pytest.raises(InvalidParameterValue):
        ws.cluster_policies.create(name="jobs-small", definition="{}")
    with pytest.raises(InvalidParameterValue):
        ws.cluster_policies.create(name="broken", definition='{"x": {"type": "sometimes"}}')
    with pytest.raises(InvalidParameterValue):
        ws.cluster_policies.create(name="not-json", definition="{nope")

    _restart(ws)
    assert ws.cluster_policies.get(pid).description == "small job clusters"
    assert other is not None
    ws.cluster_policies.delete(other)
    with pytest.raises(NotFound):
        ws.cluster_policies.get(other)
    assert [x.policy_id for x in ws.cluster_policies.list()] == [pid]


def test_groups_members_and_me(workspace: Any) -> None:
    ws: WorkspaceClient = workspace
    me = ws.current_user.me()
    assert me.id and not me.groups
    approvers = ws.groups.create(display_name="release-approvers")
    platform = ws.groups.create(display_name="platform")
    assert approvers.id and platform.id
    with pytest.raises(ResourceConflict):
        ws.groups.create(display_name="release-approvers")

    add_me = iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": me.id}])
    ws.groups.patch(
        approvers.id,
        operations=[add_me],
        schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP],
    )
    # platform contains approvers: the user is an indirect member of platform.
    nest = iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": approvers.id}])
    ws.groups.patch(platform.id, operations=[nest])

    got = ws.groups.get(approvers.id)
    assert [(m.value, m.display) for m in got.members or []] == [(me.id, me.user_name)]
    groups = {g.display: g.type for g in ws.current_user.me().groups or []}
    assert groups == {"release-approvers": "direct", "platform": "indirect"}

    found = list(ws.groups.list(filter='displayName eq "platform"'))
    assert [g.id for g in found] == [platform.id]
    assert {g.display_name for g in ws.groups.list()} == {"release-approvers", "platform"}
    with pytest.raises(NotFound):
        ws.groups.patch(
            approvers.id, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": "999"}])]
        )

    _restart(ws)
    assert {g.display for g in ws.current_user.me().groups or []} == {"release-approvers", "platform"}
    remove = iam.Patch(op=iam.PatchOp.REMOVE, path=f'members[value eq "{me.id}"]')
    ws.groups.patch(approvers.id, operations=[remove])
    assert ws.current_user.me().groups == []
    ws.groups.delete(platform.id)
    with pytest.raises(NotFound):
        ws.groups.get(platform.id)


def test_service_principals(workspace: Any) -> None:
    ws: WorkspaceClient = workspace
    sp = ws.service_principals.create(display_name="prod-deployer")
    assert sp.id and sp.application_id and sp.active is True
    assert ws.service_principals.get(sp.id).display_name == "prod-deployer"
    fixed = ws.service_principals.create(
        display_name="ci", application_id="11111111-2222-4333-8444-555555555555"
    )
    with pytest.raises(ResourceConflict):
        ws.service_principals.create(application_id="11111111-2222-4333-8444-555555555555")
    ops = ws.groups.create(display_name="ops")
    assert ops.id and fixed.id
    ws.groups.patch(
        ops.id, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": fixed.id}])]
    )
    by_app = list(
        ws.service_principals.list(filter='applicationId eq "11111111-2222-4333-8444-555555555555"')
    )
    assert [(s.id, [g.display for g in s.groups or []]) for s in by_app] == [(fixed.id, ["ops"])]
    assert {s.display_name for s in ws.service_principals.list()} >= {"prod-deployer", "ci"}
    _restart(ws)
    assert ws.service_principals.get(fixed.id).application_id == "11111111-2222-4333-8444-555555555555"
    ws.service_principals.delete(sp.id)
    with pytest.raises(NotFound):
        ws.service_principals.get(sp.id)


def test_secrets_list_has_timestamps_and_delete(workspace: Any) -> None:
    ws: WorkspaceClient = workspace
    ws.secrets.create_scope("deploy")
    before = int(time.time() * 1000)
    ws.secrets.put_secret("deploy", "api-key", string_value="s3cr3t")
    ws.secrets.put_secret("deploy", "cert", bytes_value="AAEC")
    keys = {s.key: s.last_updated_timestamp for s in ws.secrets.list_secrets("deploy")}
    assert set(keys) == {"api-key", "cert"}
    assert all(t is not None and t >= before - 1000 for t in keys.values())
    assert ws.secrets.get_secret("deploy", "cert").value == "AAEC"
    assert {s.name for s in ws.secrets.list_scopes()} >= {"deploy"}
    _restart(ws)
    assert {s.key: s.last_updated_timestamp for s in ws.secrets.list_secrets("deploy")} == keys
    ws.secrets.delete_secret("deploy", "api-key")
    assert [s.key for s in ws.secrets.list_secrets("deploy")] == ["cert"]
    with pytest.raises(NotFound):
        ws.secrets.delete_secret("deploy", "api-key")
    with pytest.raises(NotFound):
        ws.secrets.list_secrets("missing-scope")
