"""What the service does when its server starts and stops: open the database
pool and the Redis client on the serving loop, create the tables it owns,
purge old idempotency keys every so often, and close it all again.

It also refuses a configuration that cannot work once several worker
processes run it: an in-memory SQLite database lives in one process, so each
worker would answer from a database of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faasify.baas.database.errors import describe
from faasify.baas.errors import ServiceConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from faasify.baas.service import Service

__all__ = ["lifespan", "open_redis", "worker_count"]

logger = logging.getLogger("faasify.baas")


def open_redis(url: str) -> Redis:
    """The service's Redis client: short timeouts and no retries.

    A rate check or a kept read must not hold a request up: with redis-py's
    defaults (retries with backoff) a Redis that stopped answering would add
    seconds to every request. Here each call gives up after 0.25 s, and the
    service goes on without it (no shared limit, no kept read).
    """
    from redis.asyncio import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(
        url, retry=Retry(NoBackoff(), 0), socket_timeout=0.25, socket_connect_timeout=0.25
    )


def _option(arguments: list[str], *names: str) -> str | None:
    for index, argument in enumerate(arguments):
        for name in names:
            if argument == name and index + 1 < len(arguments):
                return arguments[index + 1]
            if argument.startswith(name + "="):
                return argument.split("=", 1)[1]
    return None


def worker_count() -> int:
    """How many worker processes serve this app, as far as this one can tell.

    ``WEB_CONCURRENCY`` (read by uvicorn and gunicorn), else the ``--workers`` /
    ``-w`` option of the server that started this process (its parent when it
    is one of several workers).
    """
    declared = os.environ.get("WEB_CONCURRENCY", "")
    if declared.isdigit():
        return int(declared)
    for pid in (os.getpid(), os.getppid()):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        arguments = [part.decode(errors="replace") for part in raw.split(b"\x00") if part]
        if not any(name in " ".join(arguments) for name in ("uvicorn", "gunicorn", "hypercorn")):
            continue
        value = _option(arguments, "--workers", "-w")
        if value is not None and value.isdigit():
            return int(value)
    return 1


def _refuse_private_memory(service: Service) -> None:
    if not service.database_config.in_memory:
        return
    workers = worker_count()
    if workers > 1:
        raise ServiceConfigurationError(
            f"an in-memory SQLite database lives in one process: with {workers} workers each "
            "would answer from a database of its own. Run one worker, or give the service a "
            "database file (sqlite+aiosqlite:///todos.db) or PostgreSQL (DATABASE_URL)."
        )


async def _purge_keys_forever(service: Service) -> None:
    every = min(service.idempotency_config.ttl / 4, 3600.0)
    # Short-lived instances purge too; several instances starting together do
    # not all purge at the same moment.
    await asyncio.sleep(min(every, 60.0) * random.uniform(0.5, 1.0))
    while True:
        try:
            purged = await service.purge_idempotency_keys()
        except Exception as exc:  # down, busy or anything else: try next time
            logger.warning("idempotency key purge failed: %s", describe(exc))
        else:
            if purged:
                logger.info("purged %d idempotency keys", purged)
        await asyncio.sleep(every)


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


@contextlib.asynccontextmanager
async def lifespan(service: Service) -> AsyncIterator[None]:
    _refuse_private_memory(service)
    async with contextlib.AsyncExitStack() as stack:
        if service.redis_url:
            service.redis = open_redis(service.redis_url)
            stack.push_async_callback(service._close_redis)
        await service.database.open()
        stack.push_async_callback(service._close_database)
        service.guard.open = True
        await service.guard.schema.at_startup()
        purger = asyncio.create_task(_purge_keys_forever(service))
        stack.push_async_callback(_cancelled, purger)
        yield
