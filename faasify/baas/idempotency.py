"""Idempotent writes: the key is stored in the same transaction as the write.

A write that carries an ``Idempotency-Key`` first inserts ``(owner, key,
fingerprint)`` into a small table, inside the transaction that makes the
change, and stores the response in the same row before committing. So:

* the change and the record of it commit together or not at all: a crash
  between the two is impossible, and a failed write leaves no key behind, so
  its retry proceeds;
* a retry with the same key and the same request gets the stored response
  (``Idempotency-Replayed: true``) and changes nothing;
* the same key with another request is refused (422);
* a concurrent duplicate waits on the unique key (PostgreSQL blocks an
  ``INSERT ... ON CONFLICT DO NOTHING`` until the first transaction ends) and
  then replays its answer, so two copies never both apply.

Keeping the record in the database rather than in Redis is what makes
"accepted writes are durable, retried writes are not applied twice" hold
even when Redis or the service process is lost.

Keys are kept for a bounded time (:meth:`IdempotencyKeys.purge`, run by the
service every so often): a client retries for seconds or minutes, not days,
and a table that only grows would slow every keyed write down.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from faasify.baas.problems import Problem

__all__ = ["IdempotencyKeys", "Replay", "fingerprint"]

MAX_KEY_LENGTH = 200


def fingerprint(method: str, path: str, owner: str, body: bytes) -> str:
    """What makes two requests "the same": method, path, caller and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), owner.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Replay:
    """The stored answer of an earlier request with the same key."""

    status: int
    body: Any


class IdempotencyKeys:
    """The table of keys and stored responses, and the two steps of a keyed write."""

    def __init__(
        self, metadata: sa.MetaData | None = None, name: str = "faasify_idempotency"
    ) -> None:
        self.table = sa.Table(
            name,
            metadata or sa.MetaData(),
            sa.Column("owner", sa.String(200), primary_key=True),
            sa.Column("key", sa.String(MAX_KEY_LENGTH), primary_key=True),
            sa.Column("fingerprint", sa.String(64), nullable=False),
            sa.Column("status", sa.Integer, nullable=False, server_default="0"),
            sa.Column("body", sa.Text, nullable=True),
            sa.Column("created_at", sa.DateTime, server_default=sa.func.now(), index=True),
        )

    async def claim(
        self, conn: AsyncConnection, owner: str, key: str, request_fingerprint: str
    ) -> Replay | None:
        """Claim ``key`` for this write (``None``) or return the answer to replay.

        Must run inside the write's transaction. Raises a 422 problem for a key
        reused with another request.
        """
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Problem(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
        values = {"owner": owner, "key": key, "fingerprint": request_fingerprint}
        statement: Any
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            statement = postgresql.insert(self.table).values(values).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects import sqlite

            statement = sqlite.insert(self.table).values(values).on_conflict_do_nothing()
        inserted = await conn.execute(statement.returning(self.table.c.key))
        if inserted.first() is not None:
            return None
        row = (
            await conn.execute(
                sa.select(self.table.c.fingerprint, self.table.c.status, self.table.c.body).where(
                    self.table.c.owner == owner, self.table.c.key == key
                )
            )
        ).one()
        if row.fingerprint != request_fingerprint:
            raise Problem(422, "this Idempotency-Key was used for another request")
        return Replay(row.status, json.loads(row.body) if row.body else None)

    async def record(
        self, conn: AsyncConnection, owner: str, key: str, status: int, body: Any
    ) -> None:
        """Store the write's answer with the key, in the same transaction."""
        await conn.execute(
            sa.update(self.table)
            .where(self.table.c.owner == owner, self.table.c.key == key)
            .values(status=status, body=None if body is None else json.dumps(body))
        )

    async def purge(self, conn: AsyncConnection, older_than: float) -> int:
        """Forget keys stored more than ``older_than`` seconds ago; how many went.

        The cutoff is computed by the database from its own clock, the same
        clock that stamped ``created_at``, so clock skew between service
        instances cannot purge a key early.
        """
        seconds = max(0, int(older_than))
        column = self.table.c.created_at
        cutoff: Any
        if conn.dialect.name == "sqlite":
            cutoff = sa.func.datetime("now", f"-{seconds} seconds")
        else:
            cutoff = sa.func.now() - sa.literal(timedelta(seconds=seconds), sa.Interval)
        result = await conn.execute(sa.delete(self.table).where(column < cutoff))
        return int(result.rowcount or 0)
