"""pip-audit and pip-licenses run for real on a three-package lock."""

import json

import pytest

from dbx_ops.cli import main

LOCK = """\
# runtime: 15.4.x-scala2.12
# databricks-runtime-version: 15.4
# python: 3.11
chardet==5.2.0
six==1.16.0
urllib3==1.26.5
"""


@pytest.fixture
def lock(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text(LOCK)
    return path


def test_licences_default_deny_list_catches_lgpl(lock, capsys):
    assert main(["deps", "audit", "--lock", str(lock), "--no-cves", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {f["package"] for f in report["licences"]} == {"chardet", "six", "urllib3"}
    [denied] = report["denied_licences"]
    assert denied["package"] == "chardet" and denied["denied"] == ["LGPL"]
    assert report["scanners"]["safety"].startswith("skipped: needs an account")


def test_a_gpl_deny_list_does_not_catch_lgpl(lock, capsys):
    assert main(["deps", "audit", "--lock", str(lock), "--no-cves", "--deny", "GPL,AGPL"]) == 0
    out = capsys.readouterr().out
    assert "3 packages, 0 denied (deny list: GPL, AGPL)" in out


def test_cve_scan_never_passes_silently(lock, capsys):
    code = main(["deps", "audit", "--lock", str(lock), "--no-licences", "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    if report["unaudited"]:
        # No advisory answer for some pins (e.g. PyPI's per-release JSON API is unreachable):
        # the audit must say so and fail as an environment problem, never report "ok".
        assert code == 2 and report["ok"] is False
        assert "could not audit" in captured.err
    else:
        # urllib3 1.26.5 has published advisories (CVE-2023-43804, fixed in 1.26.17).
        assert code == 1
        urllib3 = [v for v in report["vulnerabilities"] if v["package"] == "urllib3"]
        assert urllib3 and any(
            "CVE-2023-43804" in v["aliases"] or v["id"] == "CVE-2023-43804" for v in urllib3
        )
