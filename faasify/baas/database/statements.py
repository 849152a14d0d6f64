"""A statement of one fixed shape: built once with SQLAlchemy Core, compiled once
per database, run many times with only its values changing.

Building a Core statement and computing its cache key costs more CPU than
running it, and a request carries values, not shapes: so the collection builds
each shape once (:class:`Statement`) and each database keeps what it compiled
from it in :attr:`Statement.compiled`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Statement"]


class Statement:
    """``core``: the Core statement. ``columns``: for an INSERT or UPDATE, the
    columns whose values the caller passes (the SET list); the rest come from
    the columns' defaults."""

    __slots__ = ("columns", "compiled", "core")

    def __init__(self, core: Any, *, columns: Sequence[str] | None = None) -> None:
        self.core = core
        self.columns = tuple(columns) if columns is not None else None
        #: What a database compiled from this statement, by database.
        self.compiled: dict[str, Any] = {}
