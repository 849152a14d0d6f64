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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from faasify.baas.database import Session, Statement
from faasify.baas.errors import Problem, ServiceConfigurationError

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
    """The table of keys and stored responses, and the two steps of a keyed write.

    ``owner`` is the caller's :attr:`Principal.digest <faasify.baas.auth.Principal.digest>`:
    keys are per tenant and owner, so two callers may use the same key.
    """

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
        self._statements: dict[tuple[str, str], Statement] = {}
        c = self.table.c
        self._replay = Statement(
            sa.select(c.fingerprint, c.status, c.body).where(
                c.owner == sa.bindparam("owner"), c.key == sa.bindparam("key")
            )
        )
        self._record = Statement(
            sa.update(self.table)
            .where(c.owner == sa.bindparam("_owner"), c.key == sa.bindparam("_key"))
            .values(status=sa.bindparam("status"), body=sa.bindparam("body")),
        )

    def _for(self, dialect: str, kind: str, build: Callable[[], Any]) -> Statement:
        statement = self._statements.get((dialect, kind))
        if statement is None:
            statement = self._statements[(dialect, kind)] = Statement(build())
        return statement

    def _insert(self, dialect: str) -> Statement:
        def build() -> Any:
            values: dict[str, Any] = {
                "owner": sa.bindparam("owner"),
                "key": sa.bindparam("key"),
                "fingerprint": sa.bindparam("fingerprint"),
            }
            if dialect == "postgresql":
                from sqlalchemy.dialects import postgresql

                insert: Any = postgresql.insert(self.table)
            elif dialect == "sqlite":
                from sqlalchemy.dialects import sqlite

                insert = sqlite.insert(self.table)
            else:
                raise ServiceConfigurationError(
                    f"idempotency keys need PostgreSQL or SQLite, not {dialect}"
                )
            return insert.values(values).on_conflict_do_nothing().returning(self.table.c.key)

        return self._for(dialect, "claim", build)

    async def claim(
        self, session: Session, owner: str, key: str, request_fingerprint: str
    ) -> Replay | None:
        """Claim ``key`` for this write (``None``) or return the answer to replay.

        Must run inside the write's transaction. Raises a 422 problem for a key
        reused with another request.
        """
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise Problem(
                400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters"
            )
        values = {"owner": owner, "key": key, "fingerprint": request_fingerprint}
        if await session.rows(self._insert(session.dialect), values):
            return None
        row = (await session.rows(self._replay, {"owner": owner, "key": key}))[0]
        if row["fingerprint"] != request_fingerprint:
            raise Problem(422, "this Idempotency-Key was used for another request")
        body = row["body"]
        return Replay(row["status"], json.loads(body) if body else None)

    async def record(self, session: Session, owner: str, key: str, status: int, body: Any) -> None:
        """Store the write's answer with the key, in the same transaction."""
        stored = None if body is None else json.dumps(body, allow_nan=False)
        await session.execute(
            self._record, {"_owner": owner, "_key": key, "status": status, "body": stored}
        )

    async def purge(self, session: Session, older_than: float) -> int:
        """Forget keys stored more than ``older_than`` seconds ago; how many went.

        The cutoff is computed by the database from its own clock, the same
        clock that stamped ``created_at``, so clock skew between service
        instances cannot purge a key early.
        """

        sqlite = session.dialect == "sqlite"

        def build() -> Any:
            cutoff: Any
            if sqlite:  # datetime('now', '-3600 seconds')
                cutoff = sa.func.datetime("now", sa.bindparam("_age", type_=sa.String))
            else:
                age = sa.bindparam("_age", type_=sa.Float)
                cutoff = sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, age)
            return sa.delete(self.table).where(self.table.c.created_at < cutoff)

        statement = self._for(session.dialect, "purge", build)
        seconds = max(0, int(older_than))
        return await session.execute(
            statement, {"_age": f"-{seconds} seconds" if sqlite else float(seconds)}
        )
