"""Parse, validate and quote table names before they reach SQL.

Accepted forms::

    table                 schema.table              catalog.schema.table
    `my table`            `odd``name`.t             (backticks quote one part; `` is a literal backtick)
    delta.`/abs/path`     delta.`s3://bucket/key`   (path tables)

Every user-supplied table name goes through :func:`parse_table_name`; SQL is
built only from :attr:`TableName.sql`, in which every part is backtick-quoted
with embedded backticks doubled, so no name can end the identifier early.
Anything outside these forms (semicolons, comments, quotes, whitespace outside
backticks, control characters, empty parts, more than three parts) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dbx_ops.errors import InvalidTableNameError

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/")
_MAX_PART = 255


def quote_identifier(part: str) -> str:
    """Backtick-quote one identifier, doubling any backtick inside it.

    Args:
        part: a single identifier (column, schema, table), unquoted.

    Returns:
        The identifier quoted for Spark SQL.

    Raises:
        InvalidTableNameError: if the identifier is empty or holds control characters.
    """
    if not part or _CONTROL.search(part) or len(part) > _MAX_PART:
        raise InvalidTableNameError(f"Identifier {part!r} is empty, too long or has control characters.")
    return "`" + part.replace("`", "``") + "`"


def quote_string(value: str) -> str:
    """Quote a value as a Spark SQL string literal (backslashes and quotes escaped).

    Args:
        value: any text without control characters.

    Returns:
        A single-quoted SQL literal.
    """
    if _CONTROL.search(value):
        raise InvalidTableNameError(f"Value {value!r} has control characters.")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class TableName:
    """A validated table reference.

    Attributes:
        parts: catalog/schema/table parts for a catalog table (1 to 3), empty for a path table.
        path: the storage path of a path table (``delta.`path```), else None.
    """

    parts: tuple[str, ...] = ()
    path: str | None = None

    @property
    def is_path(self) -> bool:
        """True for a ``delta.`path``` table."""
        return self.path is not None

    @property
    def sql(self) -> str:
        """The name as it goes into SQL, every part quoted."""
        if self.path is not None:
            return "delta." + quote_identifier(self.path)
        return ".".join(quote_identifier(p) for p in self.parts)

    @property
    def table(self) -> str:
        """The last part (the table's own name); for a path table the last path segment."""
        if self.path is not None:
            return self.path.rstrip("/").rsplit("/", 1)[-1]
        return self.parts[-1]

    @property
    def schema(self) -> str | None:
        """The schema part when given."""
        return self.parts[-2] if len(self.parts) >= 2 else None

    @property
    def catalog(self) -> str | None:
        """The catalog part when given."""
        return self.parts[-3] if len(self.parts) == 3 else None

    def __str__(self) -> str:
        if self.path is not None:
            return f"delta.`{self.path}`"
        return ".".join(p if _PLAIN.fullmatch(p) else quote_identifier(p) for p in self.parts)

    def with_table(self, table: str) -> TableName:
        """The same catalog and schema with another table name (catalog tables only)."""
        if self.path is not None:
            raise InvalidTableNameError("A path table has no schema to put another table in.")
        return TableName(parts=(*self.parts[:-1], table))


def _split_parts(text: str) -> list[str]:
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        if i >= n:
            raise InvalidTableNameError(f"Table name {text!r} has an empty part.")
        if text[i] == "`":
            j, buf = i + 1, []
            while True:
                k = text.find("`", j)
                if k < 0:
                    raise InvalidTableNameError(f"Table name {text!r} has an unclosed backtick.")
                buf.append(text[j:k])
                if k + 1 < n and text[k + 1] == "`":
                    buf.append("`")
                    j = k + 2
                    continue
                i = k + 1
                break
            part = "".join(buf)
            if not part:
                raise InvalidTableNameError(f"Table name {text!r} has an empty quoted part.")
        else:
            m = _PLAIN.match(text, i)
            if not m:
                raise InvalidTableNameError(
                    f"Table name {text!r} has an invalid character at position {i + 1}; "
                    "use letters, digits and underscores, or quote the part in backticks."
                )
            part, i = m.group(0), m.end()
        parts.append(part)
        if i == n:
            return parts
        if text[i] != ".":
            raise InvalidTableNameError(
                f"Table name {text!r} has an invalid character {text[i]!r} at position {i + 1}."
            )
        i += 1


def parse_table_name(name: str | TableName) -> TableName:
    """Parse and validate a user-supplied table name.

    Args:
        name: ``table``, ``schema.table``, ``catalog.schema.table`` (parts optionally
            backtick-quoted) or ``delta.`/path```; a TableName is returned as is.

    Returns:
        The validated :class:`TableName`.

    Raises:
        InvalidTableNameError: for anything that is not one of the accepted forms.
    """
    if isinstance(name, TableName):
        return name
    if not isinstance(name, str):
        raise InvalidTableNameError(f"Table name must be a string, got {type(name).__name__}.")
    if _CONTROL.search(name):
        raise InvalidTableNameError(f"Table name {name!r} has control characters.")
    text = name.strip()
    if not text:
        raise InvalidTableNameError("Table name is empty.")
    lowered = text[:6].lower()
    if lowered == "delta." and len(text) > 6 and text[6] == "`":
        parts = _split_parts(text[6:])
        if len(parts) != 1:
            raise InvalidTableNameError(f"Path table {name!r} must be delta.`/path` with nothing after it.")
        path = parts[0]
        if not (path.startswith("/") or _URI.match(path)):
            raise InvalidTableNameError(f"Path table {name!r} needs an absolute path or a URI such as s3://.")
        if any(c in path for c in "`'\"") or ".." in path.split("/"):
            raise InvalidTableNameError(f"Path table {name!r} has quotes or '..' in its path.")
        return TableName(path=path)
    parts = _split_parts(text)
    if len(parts) > 3:
        raise InvalidTableNameError(
            f"Table name {name!r} has {len(parts)} parts; at most catalog.schema.table."
        )
    for p in parts:
        quote_identifier(p)
    return TableName(parts=tuple(parts))


def parse_column_name(name: str) -> str:
    """Validate a column name and return it quoted for SQL.

    Args:
        name: a column name as the user wrote it (unquoted, or one backticked part).

    Returns:
        The quoted column.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidTableNameError("Column name is empty.")
    text = name.strip()
    if text.startswith("`"):
        parts = _split_parts(text)
        if len(parts) != 1:
            raise InvalidTableNameError(f"Column name {name!r} must be one part.")
        return quote_identifier(parts[0])
    return quote_identifier(text)
