"""An asyncpg pool that lives as long as the instance, tuned for FaaS.

Declared at module scope, it connects on first use (or at cold start, with
``on_startup=[db.open]``) on the instance's persistent loop, and every warm
invoke reuses that connection. The defaults follow from how a function runs:

* ``max_size=1``: Lambda runs one request per instance at a time, so a second
  connection would only ever sit idle, holding a server slot.
* No reset query on release (asyncpg's default runs ``RESET ALL`` and
  friends, a round trip per checkout); an open transaction is still rolled
  back. Session state the app sets (``SET``, ``LISTEN``) is the app's own.
* No idle-connection reaper (``max_inactive_connection_lifetime=0``): its
  timer cannot fire while the instance is frozen, and thaw checks replace it.
* ``connect_timeout=2``: an unreachable database fails the invoke quickly
  with :class:`~faasify.PoolConnectError` instead of hanging.
* ``pgbouncer=True`` turns the prepared-statement cache off, which PgBouncer
  in transaction mode (and RDS Proxy) needs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from faasify._exceptions import PoolConnectError, PoolError, PoolTimeoutError
from faasify.pools._life import IdleClock, register_async_close, socket_has_news
from faasify.pools._single import OneConnection
from faasify.pools._stats import PoolStats

if TYPE_CHECKING:
    import asyncpg

logger = logging.getLogger(__name__)

__all__ = ["PostgresPool"]


def _asyncpg_dsn(url: str) -> str:
    """A DSN asyncpg accepts, from a SQLAlchemy-style URL as well."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}" if sep else url


def _socket_has_news(connection: Any) -> bool:
    """Whether the server sent something to an idle connection (see ``_life``)."""
    transport = getattr(connection, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    return sock is not None and socket_has_news(sock.fileno())


async def _rollback_if_needed(connection: asyncpg.Connection) -> None:
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class _Checkout:
    """``async with pool.acquire() as conn``: check out, check in."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: PostgresPool) -> None:
        self._pool = pool
        self._connection: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection = await self._pool._check_out()
        return self._connection

    async def __aexit__(self, *exc_info: object) -> None:
        await self._pool._check_in(self._connection)


class PostgresPool:
    """A module-scope PostgreSQL pool (asyncpg) for ASGI apps.

    ```python
    db = PostgresPool(os.environ["DATABASE_URL"])   # nothing happens at import

    @app.get("/ping")
    async def ping():
        return {"db": await db.fetchval("SELECT 1")}
    ```
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        name: str = "postgres",
        min_size: int = 0,
        max_size: int = 1,
        connect_timeout: float = 2.0,
        acquire_timeout: float = 5.0,
        idle_check_after: float = 30.0,
        ping_timeout: float = 2.0,
        pgbouncer: bool = False,
        server_settings: Mapping[str, str] | None = None,
        connect_options: Mapping[str, Any] | None = None,
    ) -> None:
        dsn = dsn or os.environ.get("DATABASE_URL")
        if not dsn:
            raise PoolError("PostgresPool needs a DSN (or the DATABASE_URL variable)")
        self.dsn = _asyncpg_dsn(dsn)
        self.name = name
        self.stats = PoolStats(name)
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._acquire_timeout = acquire_timeout
        self._ping_timeout = ping_timeout
        self._idle = IdleClock(idle_check_after)
        connect_kwargs = dict(connect_options or {})
        if server_settings:
            connect_kwargs["server_settings"] = dict(server_settings)
        if pgbouncer:
            connect_kwargs.setdefault("statement_cache_size", 0)
        self._connect_kwargs = connect_kwargs
        # max_size=1 (the default) holds its one connection directly.
        self._pool: asyncpg.Pool | OneConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fresh: set[int] = set()
        self._closing = False

    # -- life ---------------------------------------------------------------

    async def open(self) -> None:
        """Create the pool on the running loop (the instance's); idempotent.

        With ``min_size=0`` (the default) the first connection is made by the
        first checkout; with ``min_size>=1`` it is made here, at cold start.
        """
        if self._pool is not None:
            self._check_loop()
            return
        import asyncpg

        self._loop = asyncio.get_running_loop()
        if self._max_size == 1:
            one = OneConnection(
                lambda: self._connect(self.dsn, **self._connect_kwargs),
                self._on_connect,
                _rollback_if_needed,
                self.stats.connection_dropped,
            )
            self._pool = one
            if self._min_size >= 1:
                try:
                    await one.connect()
                except BaseException:
                    self._pool = None
                    raise
        else:
            try:
                self._pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    max_inactive_connection_lifetime=0,
                    reset=_rollback_if_needed,
                    init=self._on_connect,
                    connect=self._connect,
                    **self._connect_kwargs,
                )
            except PoolError:
                raise
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
                raise PoolConnectError(f"pool {self.name}: cannot connect: {exc}") from exc
        register_async_close(self.name, self.close)

    async def close(self) -> None:
        """Close every connection gracefully; the server sees them end."""
        pool, self._pool = self._pool, None
        if pool is not None:
            self._closing = True
            await pool.close()

    def _check_loop(self) -> None:
        if asyncio.get_running_loop() is not self._loop:
            raise PoolError(
                f"pool {self.name} belongs to another event loop; use it from the "
                "handler's loop (the app's requests and lifespan), not asyncio.run()"
            )

    async def _connect(self, *args: Any, **kwargs: Any) -> asyncpg.Connection:
        import asyncpg

        try:
            return await asyncio.wait_for(
                asyncpg.connect(*args, **kwargs), timeout=self._connect_timeout
            )
        except asyncio.TimeoutError as exc:
            raise PoolConnectError(
                f"pool {self.name}: no answer from the server within {self._connect_timeout:g}s"
            ) from exc
        except (OSError, asyncpg.PostgresError) as exc:
            raise PoolConnectError(f"pool {self.name}: cannot connect: {exc}") from exc

    async def _on_connect(self, connection: asyncpg.Connection) -> None:
        self.stats.connection_opened()
        self._fresh.add(connection.get_server_pid())
        if not isinstance(self._pool, OneConnection):
            # asyncpg's pool replaces closed connections on its own; hear of it.
            connection.add_termination_listener(self._on_terminated)

    def _on_terminated(self, connection: Any) -> None:
        # Every end of a connection that the pool did not ask for, whether the
        # server closed it or a failed liveness check made faasify drop it.
        if not self._closing:
            self.stats.connection_dropped("connection closed; the next checkout replaces it")

    # -- checkout -------------------------------------------------------------

    def acquire(self) -> _Checkout:
        """``async with db.acquire() as conn:``: the instance's connection."""
        return _Checkout(self)

    async def _check_out(self) -> asyncpg.Connection:
        if self._pool is None:
            await self.open()
        else:
            self._check_loop()
        pool = self._pool
        assert pool is not None
        idle_too_long = self._idle.idle_too_long()
        connection = await self._acquire(pool)
        pid = connection.get_server_pid()
        if pid in self._fresh:
            self._fresh.discard(pid)
            return connection
        self.stats.reused += 1
        # The loop has not yet read what arrived while the instance idled (the
        # app's first step runs before I/O callbacks), so asyncpg cannot know
        # yet that the server closed the session: look at the socket.
        if idle_too_long or _socket_has_news(connection):
            try:
                await asyncio.wait_for(connection.execute("SELECT 1"), self._ping_timeout)
                self.stats.revalidated += 1
            except Exception as exc:
                logger.info("pool %s: connection failed a liveness check: %r", self.name, exc)
                if not connection.is_closed():
                    connection.terminate()
                await pool.release(connection)
                connection = await self._acquire(pool)
                self._fresh.discard(connection.get_server_pid())
        return connection

    async def _acquire(self, pool: asyncpg.Pool | OneConnection) -> Any:
        try:
            return await pool.acquire(timeout=self._acquire_timeout)
        except asyncio.TimeoutError as exc:
            raise PoolTimeoutError(
                f"pool {self.name}: no connection free within {self._acquire_timeout:g}s "
                f"(max_size={self._max_size})"
            ) from exc

    async def _check_in(self, connection: Any) -> None:
        pool = self._pool
        if pool is not None:
            await pool.release(connection)
        self._idle.touch()

    # -- one-shot queries -------------------------------------------------------

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[Any]:
        connection = await self._check_out()
        try:
            return await connection.fetch(query, *args, timeout=timeout)  # type: ignore[no-any-return]
        finally:
            await self._check_in(connection)

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> Any:
        connection = await self._check_out()
        try:
            return await connection.fetchrow(query, *args, timeout=timeout)
        finally:
            await self._check_in(connection)

    async def fetchval(self, query: str, *args: Any, timeout: float | None = None) -> Any:
        connection = await self._check_out()
        try:
            return await connection.fetchval(query, *args, timeout=timeout)
        finally:
            await self._check_in(connection)

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        connection = await self._check_out()
        try:
            return await connection.execute(query, *args, timeout=timeout)  # type: ignore[no-any-return]
        finally:
            await self._check_in(connection)

    def __repr__(self) -> str:
        state = "open" if self._pool is not None else "not open"
        return f"<PostgresPool {self.name} {state} {self.stats.as_dict()}>"
