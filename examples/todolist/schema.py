"""The one table behind every stage that keeps todos in a database.

The pooled stage queries it directly; the BaaS stage declares it as the data
service's collection. One row per todo, scoped to its owner, keyed by the
database: no list stored as one value, no key computed by a client.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

__all__ = ["metadata", "now", "todos"]


def now() -> dt.datetime:
    """The current time in UTC, timezone-aware (the timestamps' client default)."""
    return dt.datetime.now(dt.timezone.utc)


def _created_at(context: Any) -> Any:
    """``updated_at``'s default on insert: the row's own ``created_at``.

    Each column default is called on its own, so two calls of :func:`now` would
    give a new todo two instants apart. SQLAlchemy fills ``created_at`` first (it
    comes first in the table); the data service's insert, which only uses the
    table's defaults, gets one timestamp for both too.
    """
    created = context.get_current_parameters().get("created_at")
    return created if created is not None else now()


metadata = sa.MetaData()

todos = sa.Table(
    "todos",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("text", sa.String(500), nullable=False),
    sa.Column("desc", sa.String(500), nullable=False, default="", server_default=""),
    sa.Column("done", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column(
        "created_at",
        sa.DateTime(timezone=True),
        nullable=False,
        default=now,
        server_default=sa.func.now(),
    ),
    sa.Column(
        "updated_at",
        sa.DateTime(timezone=True),
        nullable=False,
        default=_created_at,
        onupdate=now,
        server_default=sa.func.now(),
    ),
    # SQLite would otherwise hand a deleted highest id out again.
    sqlite_autoincrement=True,
)
