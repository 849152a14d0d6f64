"""Where the todos live: one interface, three stages.

=============  ==========================================  ==========================
stage          the store                                   connections per instance
=============  ==========================================  ==========================
``stateful``   :class:`MemoryStore`: a dict in the process  none (and no shared data)
``pooled``     :class:`SQLStore` over ``SQLAlchemyPool``    one to the database
``baas``       :class:`BaaSStore` over ``faasify.baas``     one HTTP keep-alive to the
                                                            data service
=============  ==========================================  ==========================

Each store is written once, as coroutines. The FastAPI app awaits them on the
instance's loop with async drivers (asyncpg, aiosqlite, ``AsyncClient``); the
Flask app runs the very same coroutines with sync drivers (psycopg, sqlite3,
``Client``) through :func:`run_sync`: a sync driver never suspends the
coroutine, so it completes in one step, without an event loop. The stages
differ only in their store; the frameworks only in their driver.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Mapping
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from examples.todolist.model import (
    NotFound,
    Page,
    Rejected,
    Todo,
    Unavailable,
    User,
    decode_cursor,
    encode_cursor,
)
from examples.todolist.schema import metadata, now, todos
from examples.todolist.settings import Settings

__all__ = [
    "BaaSStore",
    "MemoryStore",
    "SQLStore",
    "Store",
    "labelled",
    "make_store",
    "run_sync",
    "sql_url",
]

T = TypeVar("T")

#: The fields a change may carry (text, desc, done); the rest belongs to the store.
CHANGEABLE = frozenset({"text", "desc", "done"})


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a store coroutine whose I/O is all synchronous, without an event loop.

    Raises ``RuntimeError`` if the coroutine tries to wait on something, which
    would mean an async driver slipped into a sync app.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a store coroutine suspended under run_sync: use a sync driver")


class Store(Protocol):
    """The todos of each user. Every method is scoped to ``user``.

    ``list`` is named after the HTTP operation it serves; inside each store class it
    shadows the builtin, so their annotations spell the type ``builtins.list``.
    """

    async def list(self, user: User, limit: int, cursor: str | None) -> Page:
        """A page of ``limit`` todos, newest first, after ``cursor``."""

    async def page(self, user: User, offset: int, limit: int) -> tuple[builtins.list[Todo], int]:
        """``limit`` todos from ``offset``, newest first, and the user's total."""

    async def create(self, user: User, text: str, desc: str = "") -> Todo: ...

    async def update(self, user: User, todo_id: int, changes: Mapping[str, Any]) -> Todo:
        """Apply ``changes`` (keys from :data:`CHANGEABLE`); :class:`NotFound` if not the
        user's."""

    async def delete(self, user: User, ids: builtins.list[int]) -> None:
        """Delete all of ``ids`` or, if any is not the user's, none (:class:`NotFound`)."""

    async def close(self) -> None: ...


# -- stateful: the instance's memory ------------------------------------------------------


class MemoryStore:
    """Todos in this process's memory, as a classic long-running server keeps them.

    Correct on one server; wrong on FaaS, where every instance has its own copy:
    two instances, two different lists, and everything lost at scale-in.
    """

    def __init__(self) -> None:
        self._rows: dict[int, Todo] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    def _mine(self, user: User) -> builtins.list[Todo]:
        return sorted(
            (t for t in self._rows.values() if t.owner == user.name),
            key=lambda t: t.id,
            reverse=True,
        )

    async def list(self, user: User, limit: int, cursor: str | None) -> Page:
        rows = self._mine(user)
        if cursor is not None:
            last = decode_cursor(cursor)
            rows = [t for t in rows if t.id < last]
        items = rows[:limit]
        return Page(items, encode_cursor(items[-1].id) if len(rows) > limit else None)

    async def page(self, user: User, offset: int, limit: int) -> tuple[builtins.list[Todo], int]:
        rows = self._mine(user)
        return rows[offset : offset + limit], len(rows)

    async def create(self, user: User, text: str, desc: str = "") -> Todo:
        with self._lock:
            stamp = now()
            todo = Todo(self._next_id, user.name, text, desc, False, stamp, stamp)
            self._rows[todo.id] = todo
            self._next_id += 1
        return todo

    async def update(self, user: User, todo_id: int, changes: Mapping[str, Any]) -> Todo:
        with self._lock:
            todo = self._rows.get(todo_id)
            if todo is None or todo.owner != user.name:
                raise NotFound(todo_id)
            fields = {**todo.__dict__, **changes, "updated_at": now()}
            self._rows[todo_id] = updated = Todo(**fields)
        return updated

    async def delete(self, user: User, ids: builtins.list[int]) -> None:
        with self._lock:
            for todo_id in ids:
                todo = self._rows.get(todo_id)
                if todo is None or todo.owner != user.name:
                    raise NotFound(todo_id)
            for todo_id in ids:
                self._rows.pop(todo_id, None)

    async def close(self) -> None:
        return None


# -- pooled: the database, directly, through faasify's pools -------------------------------


def sql_url(url: str, *, asynchronous: bool) -> str:
    """``url`` with the driver each framework needs: psycopg or asyncpg, sqlite3 or
    aiosqlite. A URL that already names a driver is kept."""
    scheme, _, rest = url.partition("://")
    if "+" in scheme:
        return url
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+{'asyncpg' if asynchronous else 'psycopg'}://{rest}"
    if scheme == "sqlite" and asynchronous:
        return f"sqlite+aiosqlite://{rest}"
    return url


def labelled(url: str, name: str) -> dict[str, Any]:
    """Driver arguments that name a PostgreSQL connection ``name`` in
    ``pg_stat_activity.application_name``, so that whoever counts connections (the
    demo's panel, an operator) sees who holds each; nothing for SQLite."""
    scheme = url.partition("://")[0]
    if not scheme.startswith("postgres"):
        return {}
    if "+asyncpg" in scheme:
        return {"server_settings": {"application_name": name}}
    return {"application_name": name}


class _SyncConnection:
    """A sync SQLAlchemy connection with the awaitable ``execute`` the store uses."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def execute(self, statement: Any) -> Any:
        return self._connection.execute(statement)


class SQLStore:
    """Todos in the database, one row each, through a module-scope ``SQLAlchemyPool``.

    The pool's one connection is opened on the first request and reused by every
    warm invoke; reads run in autocommit, writes in a transaction.
    """

    def __init__(self, pool: Any, *, create_tables: bool = True) -> None:
        self.pool = pool
        self._create_tables = create_tables

    @contextlib.asynccontextmanager
    async def _connection(self, *, write: bool) -> AsyncIterator[Any]:
        from sqlalchemy.exc import DBAPIError, OperationalError

        from faasify import PoolError

        try:
            if self._create_tables:
                await self._ensure_tables()
            opened = self.pool.begin() if write else self.pool.read()
            if self.pool.asynchronous:
                async with opened as conn:
                    yield conn
            else:
                with opened as conn:
                    yield _SyncConnection(conn)
        except (PoolError, OperationalError, OSError) as exc:
            # asyncpg lets a refused connection through as a bare OSError.
            raise Unavailable("the database is unavailable") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise Unavailable("the database connection was lost") from exc
            raise

    async def _ensure_tables(self) -> None:
        """Create the table on first use (a deployment would run a migration)."""
        self._create_tables = False
        if self.pool.asynchronous:
            async with self.pool.begin() as conn:
                await conn.run_sync(metadata.create_all)
        else:
            with self.pool.begin() as conn:
                metadata.create_all(conn)

    @staticmethod
    def _mine(user: User) -> Any:
        return todos.c.owner == user.name

    async def list(self, user: User, limit: int, cursor: str | None) -> Page:
        statement = sa.select(todos).where(self._mine(user))
        if cursor is not None:
            statement = statement.where(todos.c.id < decode_cursor(cursor))
        statement = statement.order_by(todos.c.id.desc()).limit(limit + 1)
        async with self._connection(write=False) as conn:
            rows = (await conn.execute(statement)).mappings().all()
        items = [Todo.from_row(row, user.name) for row in rows[:limit]]
        return Page(items, encode_cursor(items[-1].id) if len(rows) > limit else None)

    async def page(self, user: User, offset: int, limit: int) -> tuple[builtins.list[Todo], int]:
        rows_statement = (
            sa.select(todos)
            .where(self._mine(user))
            .order_by(todos.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        count_statement = sa.select(sa.func.count()).select_from(todos).where(self._mine(user))
        async with self._connection(write=False) as conn:
            rows = (await conn.execute(rows_statement)).mappings().all()
            total = (await conn.execute(count_statement)).scalar_one()
        return [Todo.from_row(row, user.name) for row in rows], int(total)

    async def create(self, user: User, text: str, desc: str = "") -> Todo:
        stamp = now()  # one instant: a new todo was created when it was last updated
        values = {"owner": user.name, "text": text, "desc": desc}
        statement = (
            sa.insert(todos).values(**values, created_at=stamp, updated_at=stamp).returning(todos)
        )
        async with self._connection(write=True) as conn:
            row = (await conn.execute(statement)).mappings().one()
        return Todo.from_row(row, user.name)

    async def update(self, user: User, todo_id: int, changes: Mapping[str, Any]) -> Todo:
        statement = (
            sa.update(todos)
            .where(todos.c.id == todo_id, self._mine(user))
            .values(**changes)
            .returning(todos)
        )
        async with self._connection(write=True) as conn:
            row = (await conn.execute(statement)).mappings().first()
        if row is None:
            raise NotFound(todo_id)
        return Todo.from_row(row, user.name)

    async def delete(self, user: User, ids: builtins.list[int]) -> None:
        statement = sa.delete(todos).where(todos.c.id.in_(ids), self._mine(user))
        async with self._connection(write=True) as conn:
            deleted = (await conn.execute(statement)).rowcount
            if deleted != len(set(ids)):
                # Raised inside the transaction, so the rows that did match stay.
                mine = sa.select(todos.c.id).where(todos.c.id.in_(ids), self._mine(user))
                found = set((await conn.execute(mine)).scalars().all())
                raise NotFound(next((i for i in ids if i not in found), ids[0]))

    async def close(self) -> None:
        if self.pool.asynchronous:
            await self.pool.close()
        else:
            self.pool.close()


# -- baas: the todo data service, through faasify.baas's client -----------------------------


class BaaSStore:
    """Todos behind the data service: the function holds no database connection.

    Each call carries the user's own bearer token (``with_token``), so the
    service scopes every row to the token's subject; the client and its
    keep-alive connection are shared by every invoke of the instance.
    """

    collection = "todos"

    def __init__(self, client: Any) -> None:
        from faasify.baas import AsyncClient

        self.client = client
        self._awaits = isinstance(client, AsyncClient)

    async def _call(self, user: User, method: str, *args: Any, **kwargs: Any) -> Any:
        from faasify.baas import (
            InvalidRequest,
            ServiceError,
            Throttled,
            TransportFailed,
            Unauthorized,
        )
        from faasify.baas import NotFound as ServiceNotFound

        call = getattr(self.client.with_token(user.token), method)
        try:
            result = call(*args, **kwargs)
            return await result if self._awaits else result
        except ServiceNotFound:
            named = args[1] if len(args) > 1 and not isinstance(args[1], list) else 0
            raise NotFound(int(named)) from None
        except Throttled as exc:  # 429, and 502/503/504 (ServiceUnavailable)
            detail = "too many requests" if exc.status == 429 else "the data service is busy"
            raise Unavailable(
                detail, status=429 if exc.status == 429 else 503, retry_after=exc.retry_after
            ) from exc
        except TransportFailed as exc:
            raise Unavailable("the data service is unreachable") from exc
        except Unauthorized as exc:
            raise Rejected(401, "the data service did not accept the token") from exc
        except InvalidRequest as exc:
            detail = str(exc.problem.get("detail") or "the data service refused the request")
            raise Rejected(exc.status if exc.status in (400, 422) else 400, detail) from exc
        except ServiceError as exc:
            raise Unavailable("the data service failed", status=502) from exc

    async def list(self, user: User, limit: int, cursor: str | None) -> Page:
        params: dict[str, Any] = {"order": "-id", "limit": limit}
        if cursor is not None:
            decode_cursor(cursor)  # refuse what this API did not issue before calling out
            params["cursor"] = cursor
        answer = await self._call(user, "list", self.collection, **params)
        items = [Todo.from_row(item, user.name) for item in answer["items"]]
        return Page(items, answer["next"])

    async def page(self, user: User, offset: int, limit: int) -> tuple[builtins.list[Todo], int]:
        rows = (await self._call(user, "query", "todo_page", offset=offset, limit=limit))["rows"]
        count = (await self._call(user, "query", "todo_count"))["rows"][0]["n"]
        return [Todo.from_row(row, user.name) for row in rows], int(count)

    async def create(self, user: User, text: str, desc: str = "") -> Todo:
        item = await self._call(user, "create", self.collection, {"text": text, "desc": desc})
        return Todo.from_row(item, user.name)

    async def update(self, user: User, todo_id: int, changes: Mapping[str, Any]) -> Todo:
        item = await self._call(user, "update", self.collection, todo_id, dict(changes))
        return Todo.from_row(item, user.name)

    async def delete(self, user: User, ids: builtins.list[int]) -> None:
        # One request, one transaction on the service: all of them or none, even
        # when the call fails half way (a 429, a timeout) and is retried.
        unique = builtins.list(dict.fromkeys(ids))
        try:
            await self._call(user, "delete_many", self.collection, unique)
        except NotFound:
            # Nothing was deleted; name the first id that is missing.
            for todo_id in unique:
                await self._call(user, "get", self.collection, todo_id)
            raise

    async def close(self) -> None:
        if self._awaits:
            await self.client.aclose()
        else:
            self.client.close()


def make_store(settings: Settings, *, asynchronous: bool) -> Store:
    """The store ``settings.stage`` asks for, with the drivers of a sync or async app.

    Call it once per instance (module scope or lifespan): it holds the pool or
    the client that warm invokes reuse.
    """
    if settings.stage == "stateful":
        return MemoryStore()
    if settings.stage == "pooled":
        from faasify.pools import SQLAlchemyPool

        url = sql_url(settings.database_url, asynchronous=asynchronous)
        name = f"todolist-{settings.stage}"
        return SQLStore(SQLAlchemyPool(url, name="todolist", connect_args=labelled(url, name)))
    from faasify.baas import AsyncClient, Client

    kind = AsyncClient if asynchronous else Client
    client = kind(settings.baas_url, timeout=settings.baas_timeout, retries=settings.baas_retries)
    return BaaSStore(client)
