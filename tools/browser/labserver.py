"""Start and stop a local JupyterLab, and drive it with Playwright on Debian's chromium.

Used by the browser tests (``tests/integration/test_checklist_browser*.py``)::

    from labserver import JupyterLab   # tools/browser on sys.path
    with JupyterLab.start(root_dir=tmp, env={"DBX_OPS_HOME": ...}) as lab:
        print(lab.url("lab/tree/x.ipynb"))

The server listens on 127.0.0.1 only, on a free port, with a random token, in
its own root folder, with its own (empty) settings and workspaces folders so a
developer's JupyterLab settings never leak in, and with the JupyterLab news /
update checks off (they would open a toast over the notebook). Kernels are the
project venv's own ``python3`` (ipykernel installed in the interpreter that runs
the server).

Playwright is launched with ``executable_path`` = Debian's ``chromium``
(``make browser`` installs it): Playwright cannot download its own browser build
here, and does not need to.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    """Debian's chromium, or None when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_QUIET_SETTINGS = {
    # no "would you like to receive news" toast, no update check
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass
class JupyterLab:
    """One running JupyterLab server process."""

    root_dir: Path
    port: int
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        """A browser URL on this server, token included."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    @classmethod
    def start(
        cls,
        root_dir: str | Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        timeout: float = 90.0,
        unset: tuple[str, ...] = (),
    ) -> JupyterLab:
        """Start ``jupyter lab`` from this interpreter's environment and wait until it answers.

        Args:
            root_dir: the server's root folder (notebooks are opened relative to it).
            env: extra environment for the server and so for its kernels.
            port: the port (a free one when None).
            timeout: seconds to wait for the server.
            unset: environment variables the server (and its kernels) must not inherit.
        """
        root = Path(root_dir)
        root.mkdir(parents=True, exist_ok=True)
        lab = cls(root_dir=root, port=port or free_port(), log=root.parent / f"jupyterlab-{root.name}.log")
        private = root.parent / f".jupyter-{root.name}"
        settings = private / "settings"
        for name, value in _QUIET_SETTINGS.items():
            target = settings / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(value))
        child_env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(private / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(private / "runtime"),
            "JUPYTER_CONFIG_DIR": str(private / "config"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        for name in unset:
            child_env.pop(name, None)
        args = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={lab.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={lab.token}",
            "--ServerApp.allow_remote_access=False",
            "--ServerApp.allow_root=True",  # CI and these machines run as root
            "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # the project's kernel: ipykernel of this interpreter, nothing from the machine
            "--KernelSpecManager.ensure_native_kernel=True",
        ]
        assert lab.log is not None
        with open(lab.log, "ab") as out:  # the child keeps its own handle
            lab.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=child_env, cwd=root, start_new_session=True
            )
        try:
            lab._wait(timeout)
        except BaseException:
            lab.stop()
            raise
        return lab

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s: {self.tail()}")

    def api(self, path: str, method: str = "GET", body: Any = None) -> Any:
        """Call the server's REST API (``api/kernels``, ``api/contents/…``) and return its JSON."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url(path), data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def shutdown_kernels(self) -> None:
        """Shut every kernel down (frees its Spark session before the next notebook)."""
        for kernel in self.api("api/kernels") or []:
            try:
                self.api(f"api/kernels/{kernel['id']}", method="DELETE")
            except urllib.error.URLError:
                pass

    def tail(self, lines: int = 30) -> str:
        """The last lines of the server log."""
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop kernels, then the server (terminate, then kill after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.shutdown_kernels()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> JupyterLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def notebook(cells: list[str], kernel: str = "python3") -> dict[str, Any]:
    """An nbformat 4 notebook (JSON-ready) with one code cell per source string."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for source in cells
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": kernel},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def launch_chromium(playwright: Any, executable: str | None = None) -> Any:
    """A headless Playwright browser on Debian's chromium (never a downloaded build)."""
    path = executable or chromium_path()
    if path is None:
        raise RuntimeError("chromium is not installed: run 'make browser' (apt-get install chromium).")
    return playwright.chromium.launch(
        executable_path=path,
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
    )
