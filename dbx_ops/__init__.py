"""dbx_ops: take changes to Databricks production safely.

One obvious entry point for a notebook::

    from dbx_ops import Snapshots, Validator, snapshot, restore, validate
    report = validate("sales.orders", baseline="previous", spark=spark)
    displayHTML(report.to_html())
    report.raise_on_failure()

Every name below is resolved lazily: importing dbx_ops starts no Spark, reads
no file and opens no connection. ``dir(dbx_ops)`` lists them, so notebook tab
completion finds them. The module-level helpers share one keyword-only style:
the thing to act on first, then ``spark=``, ``store=`` and options by keyword.
"""

from __future__ import annotations

from typing import Any

#: The package version: the one place it is written (pyproject.toml reads it from here).
__version__ = "0.1.0"

_LAZY: dict[str, tuple[str, str]] = {
    # where am I, sessions, clients
    "get_spark": ("dbx_ops.runtime", "get_spark"),
    "is_databricks": ("dbx_ops.runtime", "is_databricks"),
    "workspace_client": ("dbx_ops.runtime", "workspace_client"),
    "StateStore": ("dbx_ops.state", "StateStore"),
    "parse_table_name": ("dbx_ops.names", "parse_table_name"),
    # shapes shared by every capability
    "Check": ("dbx_ops.verdict", "Check"),
    "DbxOpsError": ("dbx_ops.errors", "DbxOpsError"),
    # snapshots and restore
    "Snapshots": ("dbx_ops.snapshots", "Snapshots"),
    "RestoreReport": ("dbx_ops.snapshots", "RestoreReport"),
    # From the module that defines them: in the package, ``restore`` is also a submodule's name.
    "snapshot": ("dbx_ops.snapshots.manager", "snapshot"),
    "restore": ("dbx_ops.snapshots.manager", "restore"),
    "lookup_snapshot": ("dbx_ops.snapshots", "lookup_snapshot"),
    # validation
    "Validator": ("dbx_ops.validation", "Validator"),
    "ValidationReport": ("dbx_ops.validation", "ValidationReport"),
    "validate": ("dbx_ops.validation", "validate"),
    "profile": ("dbx_ops.validation", "profile"),
    "load_rules": ("dbx_ops.validation", "load_rules"),
    "validate_tables": ("dbx_ops.validation", "validate_tables"),
    "register_rule": ("dbx_ops.validation", "register_rule"),
    # dependency locks and environment
    "check_environment": ("dbx_ops.deps.envcheck", "check_environment"),
    # job operations
    "JobDefinitionStore": ("dbx_ops.jobs", "JobDefinitionStore"),
    "JobHealthChecker": ("dbx_ops.jobs", "JobHealthChecker"),
    "JobRollback": ("dbx_ops.jobs", "JobRollback"),
    "JobDeployer": ("dbx_ops.jobs", "JobDeployer"),
    # releases: deployment audit, last known good, rollback to its artifact
    "Releases": ("dbx_ops.releases", "Releases"),
    # environment diagnosis
    "diagnose": ("dbx_ops.doctor", "diagnose"),
    # notebooks run locally
    "run_notebook": ("dbx_ops.notebooks", "run_notebook"),
    "NotebookRunner": ("dbx_ops.notebooks", "NotebookRunner"),
    # checklists
    "checklist": ("dbx_ops.checklists", "checklist"),
    "open_checklist": ("dbx_ops.checklists", "open_run"),
    "ChecklistRun": ("dbx_ops.checklists", "ChecklistRun"),
    "run_checklist_job": ("dbx_ops.checklists", "run_checklist_job"),
    "load_checklist_template": ("dbx_ops.checklists", "load_template"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dbx_ops' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
