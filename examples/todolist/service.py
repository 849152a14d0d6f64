"""The todo data service (the BaaS stage's back end).

```sh
uvicorn examples.todolist.service:app --port 8001
```

It owns the only database pool of the BaaS stage: functions call it with the
user's own token (HS256, signed with ``TODO_SECRET``), and it scopes every row to
the token's subject. Limits are per user: in process by default, shared by every
service instance through Redis when ``REDIS_URL`` is set.

Two named queries give the course API what the collection's keyset list cannot:
a page by offset (``todo_page``) and the user's total (``todo_count``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from examples.todolist.schema import todos
from examples.todolist.settings import Settings
from examples.todolist.stores import sql_url
from faasify.baas import Collection, DatabaseConfig, JWTAuth, LimitsConfig, Service
from faasify.baas.query import NamedQuery
from faasify.baas.throttle import MemoryRateLimiter, RateLimiter, RedisRateLimiter

__all__ = ["SERVICE_NAME", "build_service", "queries"]  # and service, app: see __getattr__

_bound = sa.bindparam
#: The service's connections in ``pg_stat_activity.application_name``.
SERVICE_NAME = "todolist-service"


def queries() -> list[NamedQuery]:
    """The course API's page-number reads, each bound to the caller by the service."""
    mine = todos.c.owner == _bound("owner")
    page = NamedQuery(
        "todo_page",
        sa.select(todos.c.id, todos.c.text, todos.c.desc, todos.c.done)
        .add_columns(todos.c.created_at, todos.c.updated_at)
        .where(mine)
        .order_by(todos.c.id.desc())
        .limit(_bound("limit", type_=sa.Integer))
        .offset(_bound("offset", type_=sa.Integer)),
        params={"limit": int, "offset": int},
        max_rows=100,
    )
    count = NamedQuery(
        "todo_count", sa.select(sa.func.count().label("n")).select_from(todos).where(mine)
    )
    return [page, count]


def build_service(
    settings: Settings,
    *,
    rate: int | None = None,
    burst: int | None = None,
    pool_size: int = 5,
) -> Service:
    """The service over ``settings.database_url``, ``rate`` requests a second per user.

    ``rate`` and ``burst`` default to the settings' (``TODO_RATE``, ``TODO_BURST``), so
    every way of starting the service, uvicorn or ``python -m examples.todolist``,
    honours them.
    """
    rate = settings.rate if rate is None else rate
    burst = settings.burst if burst is None else burst
    limiter: RateLimiter
    if settings.redis_url:
        from redis.asyncio import Redis

        url = settings.redis_url
        clients: list[Redis] = []

        def redis() -> Redis:
            # Made on first use, inside the server's event loop, then kept.
            if not clients:
                clients.append(Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))
            return clients[0]

        limiter = RedisRateLimiter(redis, rate=rate, per=1.0, burst=burst, prefix="todolist:rate:")
    else:
        limiter = MemoryRateLimiter(rate=rate, per=1.0, burst=burst)
    return Service(
        database=DatabaseConfig(
            sql_url(settings.database_url, asynchronous=True),
            create_tables=True,
            pool_size=pool_size,
            application_name=SERVICE_NAME,  # what pg_stat_activity calls its connections
        ),
        collections=[
            Collection(
                "todos",
                todos,
                owner="owner",
                read_only=("created_at", "updated_at"),
                filterable=("done",),
            )
        ],
        queries=queries(),
        auth=JWTAuth(settings.secret, algorithms=("HS256",)),
        limits=LimitsConfig(rate_limiter=limiter),
    )


def __getattr__(name: str) -> Any:
    """``service`` and ``app`` (``uvicorn examples.todolist.service:app``), built from the
    environment on first access, so that importing :func:`build_service` builds nothing."""
    if name in ("service", "app"):
        built = build_service(Settings.from_env())
        globals().update(service=built, app=built.app)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
