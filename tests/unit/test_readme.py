"""The README's Python examples: every one is Python that compiles, or a ``%pip`` cell naming this
version's wheel; every name imported from dbx_ops exists (no Spark: the integration test runs them)."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readme_blocks import README, is_magic, python_blocks

from dbx_ops import __version__


def test_the_readme_has_python_examples_and_each_is_python_or_a_pip_cell():
    blocks = python_blocks()
    assert len([b for b in blocks if not is_magic(b[1])]) >= 2, "the README lost its Python examples"
    for line, code in blocks:
        if is_magic(code):
            lines = [raw.strip() for raw in code.splitlines() if raw.strip()]
            assert all(raw.startswith(("%pip install ", "# or: %pip install ")) for raw in lines), line
            continue
        compile(code, f"{README}:{line}", "exec", dont_inherit=True)


def test_the_pip_cells_name_the_wheel_this_version_builds():
    wheels = [
        word
        for _, code in python_blocks()
        if is_magic(code)
        for word in code.split()
        if word.endswith(".whl")
    ]
    assert wheels, "the README no longer says how to install the wheel"
    for path in wheels:
        assert Path(path).name == f"dbx_ops-{__version__}-py3-none-any.whl", path


def test_every_name_the_examples_import_exists():
    for line, code in python_blocks():
        if is_magic(code):
            continue
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dbx_ops"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"README line {line}: {node.module}.{alias.name}"


def test_every_top_level_name_is_the_function_or_class_not_a_module():
    import inspect

    import dbx_ops

    modules = [name for name in dbx_ops.__all__ if inspect.ismodule(getattr(dbx_ops, name))]
    assert modules == [], "these names resolve to a submodule, not the documented callable"
    from dbx_ops import restore, snapshot

    assert callable(restore) and callable(snapshot)
    assert "label" in inspect.signature(restore).parameters


def test_subpackage_exports_are_the_callables_not_same_named_submodules():
    import inspect

    import dbx_ops.snapshots
    import dbx_ops.validation

    for package in (dbx_ops.snapshots, dbx_ops.validation):
        modules = [n for n in package.__all__ if inspect.ismodule(getattr(package, n))]
        assert modules == [], f"{package.__name__}: these names resolve to a submodule"
    from dbx_ops.snapshots import restore

    assert "label" in inspect.signature(restore).parameters
