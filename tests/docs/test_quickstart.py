"""The code the documentation shows runs and does what the page says.

The quickstart's snippets are taken from docs/quickstart.md itself, so a page
edit that breaks them fails here rather than in a reader's terminal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from faasify.local.events import build_event, read_result

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _snippet(page: str, heading: str) -> str:
    """The first ```python block after ``heading`` in ``page``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1]
    match = re.search(r"```python[^\n]*\n(.*?)```", section, re.S)
    assert match is not None, f"no python block under {heading!r} in {page}"
    return match.group(1)


@pytest.mark.parametrize("heading", ["Flask in 5 lines", "FastAPI in 5 lines"])
def test_quickstart_snippets_are_five_lines_and_answer(heading: str) -> None:
    code = _snippet("quickstart.md", heading)
    assert len([line for line in code.splitlines() if line.strip()]) == 5
    namespace: dict[str, Any] = {"__name__": "quickstart"}
    exec(compile(code, f"quickstart:{heading}", "exec"), namespace)
    result = read_result(namespace["lambda_handler"](build_event("http-api-v2", "GET", "/"), None))
    assert result.status == 200
    assert json.loads(result.body) == {"hello": "world"}
    namespace["lambda_handler"].close()
