"""dbx_ops: take changes to Databricks production safely.

Import what you need from the submodules; the names below are the common
entry points and are resolved lazily, so importing dbx_ops starts nothing.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "get_spark": ("dbx_ops.runtime", "get_spark"),
    "is_databricks": ("dbx_ops.runtime", "is_databricks"),
    "parse_table_name": ("dbx_ops.names", "parse_table_name"),
    "DbxOpsError": ("dbx_ops.errors", "DbxOpsError"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'dbx_ops' has no attribute {name!r}")
