import pytest

from dbx_ops.errors import InvalidTableNameError
from dbx_ops.names import parse_column_name, parse_table_name, quote_identifier, quote_string


@pytest.mark.parametrize(
    ("text", "parts", "sql"),
    [
        ("orders", ("orders",), "`orders`"),
        ("sales.orders", ("sales", "orders"), "`sales`.`orders`"),
        ("main.sales.orders", ("main", "sales", "orders"), "`main`.`sales`.`orders`"),
        ("`my table`", ("my table",), "`my table`"),
        ("`we``ird`.t", ("we`ird", "t"), "`we``ird`.`t`"),
        ("`a.b`.c", ("a.b", "c"), "`a.b`.`c`"),
        ("  _x1.Y2  ", ("_x1", "Y2"), "`_x1`.`Y2`"),
        ("`main`.sales.`order-lines`", ("main", "sales", "order-lines"), "`main`.`sales`.`order-lines`"),
    ],
)
def test_catalog_names_parse_and_quote(text, parts, sql):
    name = parse_table_name(text)
    assert name.parts == parts
    assert name.sql == sql
    assert not name.is_path
    assert name.table == parts[-1]


def test_parts_accessors():
    name = parse_table_name("main.sales.orders")
    assert (name.catalog, name.schema, name.table) == ("main", "sales", "orders")
    assert parse_table_name("orders").schema is None
    assert str(parse_table_name("`my table`.x")) == "`my table`.x"
    assert name.with_table("orders_snap").sql == "`main`.`sales`.`orders_snap`"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("delta.`/data/orders`", "/data/orders"),
        ("DELTA.`s3://bucket/key/orders`", "s3://bucket/key/orders"),
        ("delta.`abfss://c@acct.dfs.core.windows.net/x`", "abfss://c@acct.dfs.core.windows.net/x"),
    ],
)
def test_path_tables(text, path):
    name = parse_table_name(text)
    assert name.is_path and name.path == path
    assert name.sql == f"delta.`{path}`"
    assert name.table == path.rstrip("/").rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "orders; DROP TABLE x",
        "orders--",
        "orders/* x */",
        "a.b.c.d",
        "a..b",
        ".a",
        "a.",
        "`unclosed",
        "``",
        "a b",
        "o'rders",
        'o"rders',
        "orders\n",
        "ord\x00ers",
        "1orders",
        "delta.`relative/path`",
        "delta.`/data/x` WHERE 1=1",
        "delta.`/data/../etc`",
        "delta.`/da'ta`",
        "`x`; SELECT 1",
        "x) UNION SELECT * FROM secrets --",
    ],
)
def test_rejects_malformed_and_injecting_names(text):
    with pytest.raises(InvalidTableNameError):
        parse_table_name(text)


def test_backtick_injection_is_neutralised():
    # A quoted part may hold anything printable; doubling the backtick keeps it one identifier.
    name = parse_table_name("`x``; DROP TABLE y; --`")
    assert name.parts == ("x`; DROP TABLE y; --",)
    assert name.sql == "`x``; DROP TABLE y; --`"


def test_non_string_rejected():
    with pytest.raises(InvalidTableNameError, match="must be a string"):
        parse_table_name(42)  # type: ignore[arg-type]


def test_quote_helpers():
    assert quote_identifier("a`b") == "`a``b`"
    assert quote_string("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert parse_column_name("amount usd") == "`amount usd`"
    assert parse_column_name("`a``b`") == "`a``b`"
    with pytest.raises(InvalidTableNameError):
        quote_identifier("")
    with pytest.raises(InvalidTableNameError):
        quote_string("a\nb")
    with pytest.raises(InvalidTableNameError):
        parse_column_name(" ")
