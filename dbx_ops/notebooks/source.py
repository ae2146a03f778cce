"""Parse Databricks-source notebooks (pure: no Spark, no I/O beyond the caller's text).

A notebook exported as source is a plain ``.py`` (or ``.sql``) file::

    # Databricks notebook source
    print("python cell")

    # COMMAND ----------

    # DBTITLE 1,Counts
    # MAGIC %sql
    # MAGIC SELECT count(*) FROM sales.orders

Cells are separated by ``# COMMAND ----------``; a cell whose every line starts with
``# MAGIC`` is a magic cell whose first word (``%md``, ``%sql``, ``%python``, ``%pip``,
``%run``, ...) names its kind; ``# DBTITLE 1,Title`` on a cell's first line is its title.
SQL notebooks use ``--`` instead of ``#``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from dbx_ops.errors import InvalidInputError

PYTHON_HEADER = "# Databricks notebook source"
SQL_HEADER = "-- Databricks notebook source"

#: Cell kinds the runner executes or shows; any other magic is refused with a clear message.
KINDS = ("python", "sql", "md", "pip", "run")

_TITLE = re.compile(r"^DBTITLE\s+\d+\s*,(.*)$")


@dataclass(frozen=True)
class Cell:
    """One cell of a notebook.

    Attributes:
        index: position in the notebook, from 1.
        kind: ``python``, ``sql``, ``md``, ``pip``, ``run`` or another magic's name
            (``sh``, ``scala``, ``r``, ``fs``...), which the runner refuses.
        source: the cell's code without ``# MAGIC`` prefixes, the magic word or the title line.
        line: the line of the notebook file where :attr:`source` starts (from 1).
        title: the ``DBTITLE`` of the cell, or empty.
        raw: the cell's text as it stands in the file.
    """

    index: int
    kind: str
    source: str
    line: int
    title: str = ""
    raw: str = ""

    @property
    def label(self) -> str:
        """``Cell 3 (sql): Title`` for reports."""
        return f"Cell {self.index} ({self.kind})" + (f": {self.title}" if self.title else "")


@dataclass(frozen=True)
class Notebook:
    """A parsed notebook.

    Attributes:
        path: where it was read from (``<string>`` for text).
        language: ``python`` or ``sql``, the notebook's default language.
        cells: the cells, in order.
    """

    path: str
    language: str
    cells: tuple[Cell, ...] = field(default_factory=tuple)


def is_databricks_source(text: str) -> bool:
    """True when ``text`` starts with a Databricks notebook source header."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    return first in (PYTHON_HEADER, SQL_HEADER)


def parse_notebook(text: str, path: str = "<string>") -> Notebook:
    """Parse the text of a Databricks-source notebook.

    Args:
        text: the file's text.
        path: the file name, for messages.

    Returns:
        The :class:`Notebook` with its cells.

    Raises:
        InvalidInputError: when the text is not a Databricks-source notebook.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    header = lines[0].strip() if lines else ""
    if header == PYTHON_HEADER:
        language, comment = "python", "#"
    elif header == SQL_HEADER:
        language, comment = "sql", "--"
    else:
        raise InvalidInputError(
            f"{path} is not a Databricks-source notebook: its first line must be {PYTHON_HEADER!r} "
            "(export the notebook as source, or add the line)."
        )
    separator = f"{comment} COMMAND ----------"
    cells: list[Cell] = []
    chunk: list[tuple[int, str]] = []

    def flush() -> None:
        cell = _make_cell(len(cells) + 1, chunk, language, comment)
        if cell is not None:
            cells.append(cell)

    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() == separator:
            flush()
            chunk = []
        else:
            chunk.append((number, line))
    flush()
    return Notebook(path=path, language=language, cells=tuple(cells))


def read_notebook(path: str | Path) -> Notebook:
    """Read and parse a notebook file.

    Raises:
        InvalidInputError: the file is missing, a folder, or not a Databricks-source notebook.
    """
    target = Path(path)
    if not target.is_file():
        what = "a folder" if target.is_dir() else "not found"
        raise InvalidInputError(f"Notebook {target} is {what}; give the path of a notebook source file.")
    try:
        text = target.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"Notebook {target} is not UTF-8 text.") from None
    return parse_notebook(text, str(target))


def _make_cell(index: int, chunk: list[tuple[int, str]], language: str, comment: str) -> Cell | None:
    while chunk and not chunk[0][1].strip():
        chunk = chunk[1:]
    while chunk and not chunk[-1][1].strip():
        chunk = chunk[:-1]
    if not chunk:
        return None
    raw = "\n".join(line for _, line in chunk)
    title = ""
    title_match = _TITLE.match(_strip_comment(chunk[0][1], comment) or "")
    if title_match:
        title = title_match.group(1).strip()
        chunk = chunk[1:]
        if not chunk:
            return Cell(index, language, "", 0, title, raw)
    magic_prefix = f"{comment} MAGIC"
    if all(line.startswith(magic_prefix) for _, line in chunk):
        body = [(n, _unmagic(line, magic_prefix)) for n, line in chunk]
        first_line = body[0][1].lstrip()
        if first_line.startswith("%"):
            word, _, rest = first_line[1:].partition(" ")
            kind = word.strip().lower()
            if kind in ("md", "sql", "python", "pip", "run"):
                # %md, %sql, %python keep what follows on the first line as code
                head = [(body[0][0], rest)] if rest.strip() else []
                lines = head + body[1:]
                start = lines[0][0] if lines else body[0][0]
                return Cell(index, kind, "\n".join(line for _, line in lines), start, title, raw)
            return Cell(index, kind, "\n".join(line for _, line in body), body[0][0], title, raw)
        return Cell(index, language, "\n".join(line for _, line in body), body[0][0], title, raw)
    return Cell(index, language, "\n".join(line for _, line in chunk), chunk[0][0], title, raw)


def _strip_comment(line: str, comment: str) -> str | None:
    if line.startswith(comment + " "):
        return line[len(comment) + 1 :]
    return None


def _unmagic(line: str, prefix: str) -> str:
    rest = line[len(prefix) :]
    return rest[1:] if rest.startswith(" ") else rest


# -- magic arguments -------------------------------------------------------------------------


@dataclass(frozen=True)
class RunTarget:
    """What a ``%run`` cell names: a relative notebook path and widget arguments."""

    path: str
    arguments: dict[str, str]


def parse_run(source: str) -> RunTarget:
    """Parse the argument of a ``%run`` cell: ``./child $param="value"``.

    Raises:
        InvalidInputError: no path, a path that is not relative, or a malformed argument.
    """
    try:
        words = shlex.split(source.strip())
    except ValueError as exc:
        raise InvalidInputError(f"%run {source.strip()!r} cannot be read: {exc}.") from None
    if not words:
        raise InvalidInputError("%run names no notebook; write e.g. %run ./setup.")
    path, args = words[0], words[1:]
    if not (path.startswith("./") or path.startswith("../")):
        raise InvalidInputError(
            f"%run {path}: the local runner runs relative notebooks only (./name or ../folder/name)."
        )
    arguments: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key.startswith("$") or len(key) < 2:
            raise InvalidInputError(f"%run {path}: argument {arg!r} must look like $name=value.")
        arguments[key[1:]] = value
    return RunTarget(path=path, arguments=arguments)


def split_sql(source: str) -> list[str]:
    """Split a SQL cell into statements on ``;``, ignoring those inside quotes and comments.

    Comments are kept with their statement; empty statements are dropped.
    """
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(source)
    quote: str | None = None
    while i < n:
        ch = source[i]
        if quote:
            current.append(ch)
            if ch == "\\" and quote != "`" and i + 1 < n:
                current.append(source[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            current.append(ch)
        elif source.startswith("--", i):
            end = source.find("\n", i)
            end = n if end == -1 else end
            current.append(source[i:end])
            i = end
            continue
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end == -1 else end + 2
            current.append(source[i:end])
            i = end
            continue
        elif ch == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    for line in statement.split("\n"):
        code = line.split("--", 1)[0].strip()
        if code and not (code.startswith("/*") and code.endswith("*/")):
            return True
    return False


@dataclass(frozen=True)
class PipCommand:
    """A ``%pip`` cell: its subcommand, the requirement strings and options it names."""

    command: str
    requirements: tuple[str, ...]
    files: tuple[str, ...]
    unsupported: tuple[str, ...]


_PIP_FLAGS = {"-q", "--quiet", "-U", "--upgrade", "--no-deps", "--force-reinstall", "--pre", "-v", "--verbose"}
_PIP_VALUE_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-c", "--constraint", "-f", "--find-links"}


def parse_pip(source: str) -> PipCommand:
    """Parse a ``%pip`` cell (``install pkg==1.0 -r requirements.txt``).

    Raises:
        InvalidInputError: when the cell cannot be split into words.
    """
    text = " ".join(line.split("#", 1)[0] for line in source.replace("\\\n", " ").split("\n"))
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidInputError(f"%pip {text.strip()!r} cannot be read: {exc}.") from None
    if not words:
        return PipCommand("", (), (), ())
    command, rest = words[0], words[1:]
    requirements: list[str] = []
    files: list[str] = []
    unsupported: list[str] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("-r", "--requirement") and i + 1 < len(rest):
            files.append(rest[i + 1])
            i += 2
            continue
        if word.startswith("--requirement="):
            files.append(word.split("=", 1)[1])
        elif word in _PIP_FLAGS:
            pass
        elif word in _PIP_VALUE_OPTIONS:
            i += 1
        elif word.startswith("-"):
            if "=" not in word:
                unsupported.append(word)
        else:
            requirements.append(word)
        i += 1
    return PipCommand(command, tuple(requirements), tuple(files), tuple(unsupported))
