"""The README's fenced code blocks, for the tests that execute them (tests/*/test_readme.py)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[tuple[int, str]]:
    """Every ```python block of the README as (line of its first code line, code)."""
    text = README.read_text(encoding="utf-8")
    out = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        out.append((text.count("\n", 0, match.start(1)) + 1, match.group(1)))
    return out


def is_magic(code: str) -> bool:
    """A notebook magic cell (``%pip ...``) rather than Python."""
    first = next((line for line in code.splitlines() if line.strip()), "")
    return first.lstrip().startswith("%")
