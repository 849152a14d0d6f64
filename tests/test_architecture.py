"""The trees on the architecture page are the repository's: every room they name
exists, and every module and package of faasify is named there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
# Not rooms: the version string and the typing marker.
UNLISTED = {"_version.py", "py.typed"}


def _tree() -> list[str]:
    """The paths the page's checked trees name, relative to the repository."""
    text = PAGE.read_text(encoding="utf-8")
    paths: list[str] = []
    for marked in text.split("tests/test_architecture.py -->")[1:]:
        block = marked.split("```text\n", 1)[1].split("```", 1)[0]
        stack: list[tuple[int, str]] = []
        for line in block.splitlines():
            match = re.match(r"( *)(\S+)", line)
            if match is None:
                continue
            indent, name = len(match[1]), match[2]
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1] if stack else ""
            path = parent + name
            paths.append(path)
            if name.endswith("/"):
                stack.append((indent, path))
    return paths


def test_every_room_on_the_page_exists() -> None:
    paths = _tree()
    assert "faasify/core/loop.py" in paths
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert missing == []


def test_every_module_of_faasify_and_its_two_halves_is_on_the_page() -> None:
    named = set(_tree())
    unnamed = [
        f"faasify/{child.name}{'/' if child.is_dir() else ''}"
        for child in (ROOT / "faasify").iterdir()
        if child.name not in UNLISTED
        and child.name != "__pycache__"
        and f"faasify/{child.name}{'/' if child.is_dir() else ''}" not in named
    ]
    assert unnamed == []
    for room in ("faasify/core/", "faasify/adapters/"):
        below = {
            f"{room}{child.name}{'/' if child.is_dir() else ''}"
            for child in (ROOT / room).iterdir()
            if child.name not in ("__pycache__", "__init__.py")
        }
        assert below <= named, sorted(below - named)


def test_every_folder_beside_the_package_is_on_the_page() -> None:
    """tests/support/ and benchmarks/: a new folder of helpers gets its line."""
    named = set(_tree())
    folders = {
        f"{room}{child.name}/"
        for room in ("tests/support/", "benchmarks/")
        for child in (ROOT / room).iterdir()
        if child.is_dir() and child.name != "__pycache__"
    }
    assert folders <= named, sorted(folders - named)
