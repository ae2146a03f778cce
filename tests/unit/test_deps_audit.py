import pytest

from dbx_ops.deps.audit import AuditReport, LicenceFinding, denied_by, licence_family, parse_pip_audit
from dbx_ops.errors import AuditFailedError, DependencyError

# The shape pip-audit 2.x writes with --format json (one vulnerable pin, one it could not audit).
PIP_AUDIT_JSON = {
    "dependencies": [
        {
            "name": "urllib3",
            "version": "1.26.5",
            "vulns": [
                {
                    "id": "GHSA-v845-jxx5-vc9f",
                    "fix_versions": ["1.26.17", "2.0.6"],
                    "aliases": ["CVE-2023-43804"],
                    "description": "Cookie request header isn't stripped during cross-origin redirects",
                }
            ],
        },
        {"name": "six", "version": "1.16.0", "vulns": []},
        {
            "name": "Chardet",
            "skip_reason": "Dependency not found on PyPI and could not be audited: chardet (5.2.0)",
        },
    ],
    "fixes": [],
}


@pytest.mark.parametrize(
    ("term", "family"),
    [
        ("GNU General Public License v3 (GPLv3)", "GPL"),
        ("GPL-2.0-or-later", "GPL"),
        ("GPLv2+", "GPL"),
        ("GNU Lesser General Public License v2 or later (LGPLv2+)", "LGPL"),
        ("LGPL-3.0-only", "LGPL"),
        ("GNU Library or Lesser General Public License (LGPL)", "LGPL"),
        ("GNU Affero General Public License v3", "AGPL"),
        ("AGPL-3.0", "AGPL"),
        ("MIT License", None),
        ("Apache-2.0", None),
    ],
)
def test_licence_families(term, family):
    assert licence_family(term) == family


def test_gpl_deny_does_not_catch_lgpl_or_agpl():
    assert denied_by(["LGPL-3.0"], "", ["GPL"]) == []
    assert denied_by(["GNU Affero General Public License v3"], "", ["GPL"]) == []
    assert denied_by(["GNU General Public License v2 (GPLv2)"], "", ["GPL"]) == ["GPL"]
    assert denied_by(["LGPL-3.0"], "", ["GPL", "LGPL"]) == ["LGPL"]
    assert denied_by(["SSPL-1.0"], "", ["sspl-1.0"]) == ["SSPL-1.0"]


def test_spdx_or_is_a_choice_and_and_is_not():
    assert denied_by([], "MIT OR GPL-3.0-only", ["GPL"]) == []
    assert denied_by([], "GPL-2.0-only OR LGPL-2.1-only", ["GPL", "LGPL"]) == ["GPL", "LGPL"]
    assert denied_by([], "MIT AND GPL-3.0-only", ["GPL"]) == ["GPL"]


def test_pip_audit_json_is_read():
    vulns, skipped = parse_pip_audit(PIP_AUDIT_JSON)
    [v] = vulns
    assert (v.package, v.version, v.id, v.aliases, v.fix_versions) == (
        "urllib3",
        "1.26.5",
        "GHSA-v845-jxx5-vc9f",
        ("CVE-2023-43804",),
        ("1.26.17", "2.0.6"),
    )
    assert skipped == ["chardet: Dependency not found on PyPI and could not be audited: chardet (5.2.0)"]


def test_report_renderings_and_outcome():
    vulns, skipped = parse_pip_audit(PIP_AUDIT_JSON)
    lic = (LicenceFinding("chardet", "5.2.0", "LGPL", ("LGPL",)), LicenceFinding("six", "1.16.0", "MIT"))
    report = AuditReport("lock.txt", tuple(vulns), lic, ("GPL", "LGPL"), {"pip-audit": "ran"}, tuple(skipped))
    assert report.findings and not report.ok
    text = report.to_text()
    assert "urllib3==1.26.5  GHSA-v845-jxx5-vc9f (CVE-2023-43804)  fixed in: 1.26.17, 2.0.6" in text
    assert "chardet==5.2.0  LGPL  -> denied (LGPL)" in text and "NOT audited for CVEs (1)" in text
    assert "| urllib3 | 1.26.5 | GHSA-v845-jxx5-vc9f" in report.to_markdown()
    html = report.to_html()
    assert "GHSA-v845-jxx5-vc9f" in html and "chardet" in html
    with pytest.raises(AuditFailedError, match=r"1 known vulnerabilit.*1 denied licence"):
        report.raise_on_failure()
    assert report.to_dict()["denied_licences"][0]["package"] == "chardet"
    clean = AuditReport("lock.txt", (), (lic[1],), ("GPL",), {"safety": "skipped: needs an account"})
    assert clean.ok and not clean.findings
    clean.raise_on_failure()
    unaudited = AuditReport("lock.txt", unaudited=("six: not found",))
    assert not unaudited.findings and not unaudited.ok
    with pytest.raises(DependencyError, match="could not audit 1 pinned package") as caught:
        unaudited.raise_on_failure()
    assert caught.value.exit_code == 2
