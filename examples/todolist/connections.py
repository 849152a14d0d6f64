"""Who holds database connections, as the database (or the OS) counts them.

The panel shows each stage's connections from the source that cannot be
wrong about them:

* PostgreSQL: ``pg_stat_activity``, by ``application_name``. The pooled stage's
  functions name theirs ``todolist-pooled`` and the data service its pool's
  ``todolist-service`` (``stores.labelled``), so the count is per holder.
* SQLite: a connection is an open file. On Linux, ``/proc/<pid>/fd`` of each
  instance process (and of this process, where the data service runs) says
  how many handles it holds on the database file.

Anything else is not counted, and the panel says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from examples.todolist.service import SERVICE_NAME
from examples.todolist.settings import STAGES

__all__ = [
    "ConnectionCounter",
    "Connections",
    "PostgresConnections",
    "SQLiteHandles",
    "counter_for",
    "function_name",
]


def function_name(stage: str) -> str:
    """The ``application_name`` of a stage's function connections."""
    return f"todolist-{stage}"


@dataclass(frozen=True)
class Connections:
    """Connections held per stage's functions, and by the data service."""

    functions: dict[str, int]
    service: int


class ConnectionCounter(Protocol):
    #: Where the figures come from, as the panel names it.
    source: str

    async def count(self, pids: Mapping[str, Sequence[int]]) -> Connections:
        """The connections now; ``pids`` are each stage's instance processes."""

    async def close(self) -> None: ...


class PostgresConnections:
    """``pg_stat_activity`` for the database of ``url``, on one connection of its own."""

    source = "pg_stat_activity"
    #: This counter's own connection, left out of the counts.
    name = "todolist-panel"

    def __init__(self, url: str) -> None:
        scheme, _, rest = url.partition("://")
        self.url = f"{scheme.split('+', 1)[0]}://{rest}"  # asyncpg takes no driver name
        self._conn: Any = None

    async def count(self, pids: Mapping[str, Sequence[int]]) -> Connections:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self.url, timeout=5, server_settings={"application_name": self.name}
            )
        names = [function_name(stage) for stage in STAGES] + [SERVICE_NAME]
        try:
            rows = await self._conn.fetch(
                "SELECT application_name, count(*) AS n FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = ANY($1::text[]) "
                "GROUP BY application_name",
                names,
            )
        except Exception:
            await self.close()  # reconnect on the next count
            raise
        counts = {row["application_name"]: int(row["n"]) for row in rows}
        return Connections(
            {stage: counts.get(function_name(stage), 0) for stage in STAGES},
            counts.get(SERVICE_NAME, 0),
        )

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


class SQLiteHandles:
    """Open handles on a SQLite file, per process, from ``/proc`` (Linux)."""

    source = "open handles on the SQLite file (/proc)"

    def __init__(self, path: str) -> None:
        self.path = os.path.realpath(path)

    def handles(self, pid: int) -> int:
        """How many of ``pid``'s file descriptors are the database file."""
        found = 0
        fds = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):
            for fd in os.listdir(fds):
                with contextlib.suppress(OSError):
                    if os.readlink(fds / fd) == self.path:
                        found += 1
        return found

    async def count(self, pids: Mapping[str, Sequence[int]]) -> Connections:
        return Connections(
            {stage: sum(self.handles(pid) for pid in pids.get(stage, ())) for stage in STAGES},
            self.handles(os.getpid()),  # the data service runs in this process
        )

    async def close(self) -> None:
        return None


def counter_for(database_url: str) -> ConnectionCounter | None:
    """The counter for ``database_url``, or ``None`` when nothing can count it here."""
    scheme, _, rest = database_url.partition("://")
    if scheme.startswith("postgres"):
        return PostgresConnections(database_url)
    if scheme.startswith("sqlite") and rest.startswith("/") and rest != "/":
        path = rest[1:]  # sqlite:///tmp/x.db -> /tmp/x.db (the third slash starts it)
        if Path("/proc/self/fd").is_dir() and not path.startswith(":memory:"):
            return SQLiteHandles(path.split("?", 1)[0])
    return None
