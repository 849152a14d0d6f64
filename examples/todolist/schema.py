"""The one table behind every stage that keeps todos in a database.

The pooled stage queries it directly; the BaaS stage declares it as the data
service's collection. One row per todo, scoped to its owner, keyed by the
database: no list stored as one value, no key computed by a client.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

__all__ = ["metadata", "now", "todos"]


def now() -> dt.datetime:
    """The current time in UTC, timezone-aware (the timestamps' client default)."""
    return dt.datetime.now(dt.timezone.utc)


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
        default=now,
        onupdate=now,
        server_default=sa.func.now(),
    ),
    # SQLite would otherwise hand a deleted highest id out again.
    sqlite_autoincrement=True,
)
