"""What stays out of the zip: the default patterns, and the matcher that applies them."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable

__all__ = ["DEFAULT_EXCLUDES", "Excluder"]

#: What no function needs at run time. A pattern without ``/`` matches a file or
#: directory name anywhere; one with ``/`` matches a path from the zip's root
#: (a leading ``/`` only anchors it). A directory that matches goes with all it holds.
DEFAULT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    "tests",
    ".venv",
    "venv",
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".DS_Store",
    "*.egg-info",
    # local secrets: a .env file holds credentials for a developer's machine, and
    # a function gets its settings from its environment configuration instead.
    ".env",
    ".env.*",
    # pip's install records: they list hashes of files that are no longer all
    # there, and nothing reads them at run time (METADATA and entry points stay).
    "*.dist-info/RECORD",
    "*.dist-info/INSTALLER",
    "*.dist-info/REQUESTED",
    "*.dist-info/direct_url.json",
)


class Excluder:
    """Decides, path by path, what stays out of the zip (see :data:`DEFAULT_EXCLUDES`)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.names: list[str] = []
        self.paths: list[str] = []
        for pattern in patterns:
            pattern = pattern.strip().replace(os.sep, "/").rstrip("/")
            if not pattern:
                continue
            if "/" in pattern:
                self.paths.append(pattern.lstrip("/"))
            else:
                self.names.append(pattern)

    def excludes(self, arcname: str) -> bool:
        """Whether ``arcname`` (``/``-separated) or a directory above it matches."""
        parts = arcname.split("/")
        for part in parts:
            if any(fnmatch.fnmatchcase(part, name) for name in self.names):
                return True
        if self.paths:
            for end in range(1, len(parts) + 1):
                prefix = "/".join(parts[:end])
                if any(fnmatch.fnmatchcase(prefix, path) for path in self.paths):
                    return True
        return False
