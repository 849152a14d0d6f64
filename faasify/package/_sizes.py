"""Sizes as Lambda counts them: its two limits, and sizes read from and shown to people."""

from __future__ import annotations

import re

__all__ = ["MB", "UNZIPPED_LIMIT", "ZIPPED_LIMIT", "format_size", "parse_size"]

MB = 1024 * 1024
#: Lambda's limit on a zip uploaded directly (``aws lambda update-function-code
#: --zip-file``); a zip uploaded through S3 may be larger, up to the unzipped limit.
ZIPPED_LIMIT = 50 * MB
#: Lambda's limit on the unzipped function and all its layers (262,144,000 bytes).
UNZIPPED_LIMIT = 250 * MB

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": MB, "g": 1024 * MB}


def format_size(size: int) -> str:
    """``"45.2 MB"`` or, below a tenth of a megabyte, ``"12.0 KB"``."""
    return f"{size / MB:.1f} MB" if size >= MB // 10 else f"{size / 1024:.1f} KB"


def parse_size(text: str) -> int:
    """Bytes from ``"50MB"``, ``"250 MiB"``, ``"900k"`` or ``"1048576"``.

    MB here is 1024 * 1024 bytes, as Lambda counts its limits (250 MB unzipped
    is 262,144,000 bytes).
    """
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (expected e.g. 50MB, 900KB, 1048576)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").lower()[:1]])
