"""The workspace client's bounds: what a dead or frozen workspace costs is bounded by configuration."""

from __future__ import annotations

import socket

import pytest

from dbx_ops import runtime
from dbx_ops.errors import InvalidInputError


@pytest.fixture
def frozen_host():
    """A host that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_host_metadata_probe_of_a_frozen_host_uses_the_probe_bounds(frozen_host, monkeypatch):
    import databricks.sdk.config as sdk_config

    seen: list[tuple[float, float]] = []

    class Recorder:  # stands in for the SDK's HTTP client of the probe only, and records its bounds
        def __init__(self, retry_timeout_seconds=None, http_timeout_seconds=None, **_kw):
            seen.append((retry_timeout_seconds, http_timeout_seconds))

    monkeypatch.setattr(sdk_config, "_BaseClient", Recorder)
    monkeypatch.setattr(
        sdk_config, "get_host_metadata", lambda host, client: (_ for _ in ()).throw(OSError())
    )
    ws = runtime.workspace_client(env={"DATABRICKS_HOST": frozen_host, "DATABRICKS_TOKEN": "dapi-x"})
    assert seen == [(runtime.METADATA_PROBE_TIMEOUT, runtime.METADATA_PROBE_TIMEOUT)]
    # ... and the client's own calls keep the configured bounds.
    assert ws.config.http_timeout_seconds == runtime.DEFAULT_HTTP_TIMEOUT
    assert ws.config.retry_timeout_seconds == runtime.DEFAULT_RETRY_TIMEOUT


def test_the_bounds_leave_room_for_two_requests_within_a_minute():
    # A frozen workspace costs the probe, then at most the attempts that start within the retry
    # budget, each a request timeout long (the SDK sleeps ~1-2 s between them).
    probe = 2 * runtime.METADATA_PROBE_TIMEOUT
    worst_call = runtime.DEFAULT_RETRY_TIMEOUT + runtime.DEFAULT_HTTP_TIMEOUT
    assert probe + worst_call <= 50  # 10 s for start-up on a loaded machine


def test_the_bounds_are_configurable_and_checked(monkeypatch):
    env = {"DATABRICKS_HOST": "http://127.0.0.1:1", "DATABRICKS_TOKEN": "t", "DBX_OPS_HTTP_TIMEOUT": "4"}
    ws = runtime.workspace_client(env={**env, "DBX_OPS_RETRY_TIMEOUT": "6"})
    assert (ws.config.http_timeout_seconds, ws.config.retry_timeout_seconds) == (4, 6)
    with pytest.raises(InvalidInputError, match="DBX_OPS_RETRY_TIMEOUT='0'"):
        runtime.workspace_client(env={**env, "DBX_OPS_RETRY_TIMEOUT": "0"})
