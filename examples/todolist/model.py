"""The todo as every stage returns it, and the errors a store may raise.

The stores speak only these types; the API layer turns them into the two JSON
shapes (the native API's and the course API's) and into problem+json answers.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BadCursor",
    "NotFound",
    "Page",
    "Rejected",
    "StoreError",
    "Todo",
    "Unavailable",
    "User",
    "decode_cursor",
    "encode_cursor",
    "utc",
]


def utc(value: dt.datetime | str) -> dt.datetime:
    """A timezone-aware UTC datetime; SQLite hands back naive ones, taken as UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class User:
    """The caller: ``name`` scopes rows; ``token`` is forwarded to the data service."""

    name: str
    token: str


@dataclass(frozen=True)
class Todo:
    id: int
    owner: str
    text: str
    desc: str
    done: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any, owner: str) -> Todo:
        """From a database row or a data service item (which leaves the owner out)."""
        return cls(
            id=int(row["id"]),
            owner=owner,
            text=row["text"],
            desc=row["desc"] or "",
            done=bool(row["done"]),
            created_at=utc(row["created_at"]),
            updated_at=utc(row["updated_at"]),
        )


@dataclass(frozen=True)
class Page:
    """A page of todos, newest first; ``next`` is the cursor of the following page."""

    items: list[Todo] = field(default_factory=list)
    next: str | None = None


def encode_cursor(last_id: int) -> str:
    """An opaque cursor after ``last_id`` (the same form the data service issues)."""
    return base64.urlsafe_b64encode(json.dumps([last_id]).encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        (last_id,) = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise BadCursor() from None
    if not isinstance(last_id, int) or isinstance(last_id, bool):
        raise BadCursor()
    return last_id


class StoreError(Exception):
    """A store could not do what was asked; the API answers with ``status``."""

    status = 500
    detail = "the todo store failed"


class NotFound(StoreError):
    """No such todo for this user (another user's todo is answered the same way)."""

    status = 404

    def __init__(self, todo_id: int) -> None:
        self.detail = f"no todo {todo_id}"
        super().__init__(self.detail)


class BadCursor(StoreError):
    status = 400
    detail = "the cursor is not one this API issued"


class Unavailable(StoreError):
    """The database or the data service cannot serve now: 503 (or its 429), retry later."""

    def __init__(self, detail: str, *, status: int = 503, retry_after: float = 1.0) -> None:
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(detail)


class Rejected(StoreError):
    """The data service refused the call (its 4xx), passed on as it said."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(detail)
