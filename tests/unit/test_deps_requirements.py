import pytest

from dbx_ops.deps.requirements import make_pin, parse_additions, parse_lock, validate_version
from dbx_ops.errors import InvalidInputError

HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64


def test_additions_are_parsed_and_normalised():
    text = "# ours\nChispa>=0.10,<1  # test helpers\n\nDatabricks_SDK[notebook]~=0.40\n"
    adds = parse_additions(text)
    assert [a.name for a in adds] == ["chispa", "databricks-sdk"]
    assert [a.line for a in adds] == [2, 4]
    assert adds[0].text() == "chispa<1,>=0.10"
    assert adds[1].text() == "databricks-sdk[notebook]~=0.40"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("numpy>>2", "not a valid requirement"),
        ("pandas>=2 ; rm -rf /", "not a valid requirement"),
        ("-e git+https://example.com/x.git", "options like '-e' are not supported"),
        ("--index-url https://evil.example", "options like '--index-url'"),
        ("x @ https://example.com/x.whl", "comes from a URL"),
    ],
)
def test_bad_addition_lines_name_the_file_and_line(line, message):
    with pytest.raises(InvalidInputError) as err:
        parse_additions(f"six==1.16.0\n{line}\n", "additional-packages.in")
    assert "additional-packages.in:2" in str(err.value)
    assert message in str(err.value)


def test_a_package_listed_twice_is_refused():
    with pytest.raises(InvalidInputError, match="already listed on line 1"):
        parse_additions("six\nSix==1.16.0\n")


def test_lock_with_hashes_and_annotations():
    text = (
        "# header\n"
        f"Typing_Extensions==4.12.2 \\\n    --hash={HASH_A} \\\n    --hash={HASH_B}\n"
        "    # via -r requirements-combined.in\n"
        "six==1.16.0\n    # via\n    #   -c runtime-baseline.in\n"
    )
    pins = parse_lock(text)
    assert [p.text() for p in pins] == ["six==1.16.0", "typing-extensions==4.12.2"]
    assert pins[1].hashes == (HASH_A, HASH_B)
    assert pins[1].requirement_line() == f"typing-extensions==4.12.2 --hash={HASH_A} --hash={HASH_B}"


@pytest.mark.parametrize(
    "line",
    [
        "six>=1.16",
        "six==1.16.0 --index-url=https://x",
        "six==$(reboot)",
        "six==1.16.0 --hash=md5:abc",
        "-r x.txt",
    ],
)
def test_lock_lines_that_are_not_exact_pins_are_refused(line):
    with pytest.raises(InvalidInputError, match=r"requirements.txt:1"):
        parse_lock(line + "\n")


def test_pins_are_validated_before_they_reach_a_script():
    assert make_pin("Six", "1.16.0").name == "six"
    with pytest.raises(InvalidInputError, match="not a valid package name"):
        make_pin("six;reboot", "1.0")
    with pytest.raises(InvalidInputError, match="not a valid version"):
        make_pin("six", "1.0`id`")
    assert validate_version("2.3.1+cpu") == "2.3.1+cpu"


def test_a_package_pinned_twice_is_refused():
    with pytest.raises(InvalidInputError, match="pinned twice"):
        parse_lock("six==1.16.0\nSix==1.15.0\n")
