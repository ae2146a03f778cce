"""The ``workspace`` fixture: a real WorkspaceClient on the local stand-in workspace."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "workspace"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A ``databricks.sdk.WorkspaceClient(host=..., token=...)`` on a fresh stand-in workspace.

    The stand-in (``tools/workspace``, built by ``make workspace``) runs on a free 127.0.0.1 port
    with its state persisted to a file, so a test can kill and restart it
    (``standin.of(ws.config.host)``).
    """
    from databricks.sdk import WorkspaceClient
    from standin import StandIn

    folder = tmp_path_factory.mktemp("workspace")
    server = StandIn.start(state_file=folder / "state.json", log=folder / "server.log")
    try:
        yield WorkspaceClient(host=server.host, token=server.token)
    finally:
        server.stop()
