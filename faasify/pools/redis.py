"""Redis clients that live as long as the instance: redis.asyncio for ASGI apps,
the sync client for WSGI apps. Both are redis-py underneath; faasify only
chooses FaaS defaults and counts what the pool does.

* ``max_connections=1`` on a *blocking* pool: one request per instance at a
  time needs one connection, and a second concurrent user waits (up to
  ``acquire_timeout``) instead of opening another.
* ``health_check_interval=idle_check_after``: redis-py pings a connection
  that sat idle longer than that before using it; a thaw after a long freeze
  therefore checks, a warm invoke does not. redis-py also discards, at
  checkout, a connection whose socket has unread data (the server closed it),
  and retries a command once on a fresh connection after a connection error.
* ``socket_connect_timeout=2``: an unreachable server fails fast.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from faasify._exceptions import PoolError
from faasify.pools._life import register_async_close, register_sync_close, socket_has_news
from faasify.pools._stats import PoolStats

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisPool", "SyncRedisPool"]


def _stream_has_news(connection: Any) -> bool:
    writer = getattr(connection, "_writer", None)
    sock = writer.transport.get_extra_info("socket") if writer is not None else None
    return sock is not None and socket_has_news(sock.fileno())


def _counting_classes(
    connection_base: Any, pool_base: Any, stats: PoolStats, asynchronous: bool
) -> tuple[Any, Any]:
    """Subclasses of redis-py's connection and pool that feed ``stats``."""

    def note_connect(connection: Any) -> None:
        if getattr(connection, "_faasify_connected", False):
            stats.connection_dropped("connection lost; reconnected")
        connection._faasify_connected = True
        stats.connection_opened()

    def note_health_check(connection: Any) -> None:
        if (
            connection.health_check_interval
            and getattr(connection, "_faasify_connected", False)
            and 0 < connection.next_health_check < time.monotonic()
        ):
            stats.revalidated += 1

    def note_checkout(connection: Any) -> None:
        if getattr(connection, "_faasify_checked_out", False):
            stats.reused += 1
        connection._faasify_checked_out = True

    if asynchronous:

        class AsyncConnection(connection_base):  # type: ignore[misc]
            async def on_connect_check_health(self, check_health: bool = True) -> None:
                note_connect(self)
                await super().on_connect_check_health(check_health=check_health)

            async def check_health(self) -> None:
                note_health_check(self)
                await super().check_health()

        class AsyncPool(pool_base):  # type: ignore[misc]
            async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
                connection = await super().get_connection(*args, **kwargs)
                note_checkout(connection)
                # The loop has not yet read what arrived while the instance
                # idled, so redis-py's own stale-connection check cannot see a
                # server-side close; the socket can. Reconnect before use.
                if connection.is_connected and _stream_has_news(connection):
                    await connection.disconnect()
                return connection

        return AsyncConnection, AsyncPool

    class SyncConnection(connection_base):  # type: ignore[misc]
        def on_connect_check_health(self, check_health: bool = True) -> None:
            note_connect(self)
            super().on_connect_check_health(check_health=check_health)

        def check_health(self) -> None:
            note_health_check(self)
            super().check_health()

    class SyncPool(pool_base):  # type: ignore[misc]
        def get_connection(self, *args: Any, **kwargs: Any) -> Any:
            connection = super().get_connection(*args, **kwargs)
            note_checkout(connection)
            return connection

    return SyncConnection, SyncPool


class _RedisBase:
    _asynchronous = True

    def __init__(
        self,
        url: str | None = None,
        *,
        name: str = "redis",
        max_connections: int = 1,
        connect_timeout: float = 2.0,
        socket_timeout: float = 5.0,
        acquire_timeout: float = 5.0,
        idle_check_after: float = 30.0,
        client_name: str | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        url = url or os.environ.get("REDIS_URL")
        if not url:
            raise PoolError(f"{type(self).__name__} needs a URL (or the REDIS_URL variable)")
        self.url = url
        self.name = name
        self.stats = PoolStats(name)
        self._options: dict[str, Any] = {
            "max_connections": max_connections,
            "timeout": acquire_timeout,
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
            "health_check_interval": idle_check_after,
            **({"client_name": client_name} if client_name else {}),
            **(client_options or {}),
        }
        self._client: Any = None

    def _build(self, module: Any) -> Any:
        """A client from ``module`` (``redis`` or ``redis.asyncio``) over a counting pool."""
        connection_class, pool_class = _counting_classes(
            module.Connection if not self.url.startswith("rediss") else module.SSLConnection,
            module.BlockingConnectionPool,
            self.stats,
            self._asynchronous,
        )
        pool = pool_class.from_url(self.url, connection_class=connection_class, **self._options)
        return module.Redis(connection_pool=pool)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.stats.as_dict()}>"


class RedisPool(_RedisBase):
    """A module-scope ``redis.asyncio`` client for ASGI apps.

    ```python
    cache = RedisPool(os.environ["REDIS_URL"])

    @app.get("/hits")
    async def hits():
        return {"hits": await cache.client.incr("hits")}
    ```
    """

    @property
    def client(self) -> redis.asyncio.Redis:
        """The ``redis.asyncio.Redis`` client; connects on first command."""
        if self._client is None:
            import redis.asyncio

            self._client = self._build(redis.asyncio)
            register_async_close(self.name, self.close)
        client: redis.asyncio.Redis = self._client
        return client

    async def open(self) -> None:
        """Connect now (at cold start) rather than on the first command."""
        await self.client.ping()

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[redis.asyncio.Redis]:
        """``async with cache.acquire() as redis:``: the instance's client.

        redis-py checks a connection out per command and back in after it, so
        the client itself is what is lent; the verb matches the other pools'.
        """
        yield self.client

    async def close(self) -> None:
        """Close the client and every pooled connection; idempotent."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose(close_connection_pool=True)


class SyncRedisPool(_RedisBase):
    """A module-scope sync ``redis.Redis`` client for WSGI apps."""

    _asynchronous = False

    @property
    def client(self) -> redis.Redis:
        """The ``redis.Redis`` client; connects on first command."""
        if self._client is None:
            import redis

            self._client = self._build(redis)
            register_sync_close(self.name, self.close)
        client: redis.Redis = self._client
        return client

    def open(self) -> None:
        """Connect now (at cold start) rather than on the first command."""
        self.client.ping()

    @contextlib.contextmanager
    def acquire(self) -> Iterator[redis.Redis]:
        """``with cache.acquire() as redis:``: the instance's client (see
        :meth:`RedisPool.acquire`)."""
        yield self.client

    def close(self) -> None:
        """Close the client and every pooled connection; idempotent."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
            client.connection_pool.disconnect()
