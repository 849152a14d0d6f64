"""The service's options, grouped by what they tune.

```python
Service(
    collections=[...],
    database=DatabaseConfig("postgresql://app@db/app", pool_size=10, command_timeout=2.0),
    limits=LimitsConfig(rate_limit=(100, 1.0), queue_size=40),
    outage=OutageConfig(breaker=CircuitBreaker(failure_threshold=5)),
)
```

Every field has a default that suits one service beside one PostgreSQL; each
group is a frozen dataclass, checked when it is made, so a bad value fails where
it is written rather than at the first request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from faasify.baas.errors import ServiceConfigurationError

if TYPE_CHECKING:
    from faasify.baas.breaker import CircuitBreaker
    from faasify.baas.cache import ReadCache
    from faasify.baas.throttle import RateLimiter

__all__ = [
    "EMBEDDED_URL",
    "DatabaseConfig",
    "IdempotencyConfig",
    "LimitsConfig",
    "OutageConfig",
    "Pooler",
]

#: What sits between the service and PostgreSQL, if anything (see docs/baas.md):
#: ``"pgbouncer"`` for PgBouncer in transaction mode before 1.21, or later without
#: ``max_prepared_statements``; ``"pgbouncer-prepared"`` for PgBouncer 1.21 and later
#: with ``max_prepared_statements`` set; ``"rds-proxy"`` for Amazon RDS Proxy.
Pooler = Literal["pgbouncer", "pgbouncer-prepared", "rds-proxy"]
_POOLERS = ("pgbouncer", "pgbouncer-prepared", "rds-proxy")

#: The database without any configuration: SQLite in memory, in this process.
EMBEDDED_URL = "sqlite+aiosqlite:///:memory:"


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ServiceConfigurationError(f"{name} must be positive, not {value!r}")


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the data lives and how long the service waits for it.

    ``url``: a ``postgresql://`` URL (served on asyncpg directly), any other
    SQLAlchemy async URL (``sqlite+aiosqlite:///todos.db``), or ``None`` for
    ``DATABASE_URL``, else the embedded in-memory SQLite.

    The three timeouts bound every wait on the database, so a database that
    stops answering (a partition, a failover that strands the pooled
    connections) costs a request seconds, not forever, and counts as a failure
    for the circuit breaker: ``connect_timeout`` for a new connection,
    ``command_timeout`` for one statement, ``acquire_timeout`` for a pooled
    connection to come free.

    ``create_tables``: create the collections' tables if missing at startup.
    ``None`` (the default) creates them for an in-memory SQLite database, which
    nothing else could have created, and leaves other databases to their
    migrations. The service's own table of idempotency keys is always created.

    ``application_name`` is how PostgreSQL's ``pg_stat_activity`` names the
    service's connections (sent when connecting, not as a ``SET``).
    ``engine_options`` go to SQLAlchemy's ``create_async_engine`` for databases
    other than PostgreSQL.
    """

    url: str | None = None
    _: KW_ONLY
    pool_size: int = 10
    connect_timeout: float = 2.0
    command_timeout: float = 2.0
    acquire_timeout: float = 2.0
    pooler: Pooler | None = None
    create_tables: bool | None = None
    application_name: str = "faasify.baas"
    engine_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.pool_size < 1:
            raise ServiceConfigurationError(f"pool_size must be at least 1, not {self.pool_size}")
        for name in ("connect_timeout", "command_timeout", "acquire_timeout"):
            _positive(name, getattr(self, name))
        if self.pooler is not None and self.pooler not in _POOLERS:
            raise ServiceConfigurationError(
                f"pooler must be one of {', '.join(map(repr, _POOLERS))}, not {self.pooler!r}"
            )

    @property
    def resolved_url(self) -> str:
        """The URL in force: ``url``, else ``DATABASE_URL``, else the embedded SQLite."""
        return self.url or os.environ.get("DATABASE_URL") or EMBEDDED_URL

    @property
    def is_postgres(self) -> bool:
        return self.resolved_url.split("://", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")

    @property
    def in_memory(self) -> bool:
        """Whether the database lives in this process only (SQLite ``:memory:``)."""
        url = self.resolved_url
        if not url.startswith("sqlite"):
            return False
        path = url.split("://", 1)[1].lstrip("/")
        return path in ("", ":memory:") or path.startswith(":memory:") or "mode=memory" in url

    @property
    def creates_tables(self) -> bool:
        return self.in_memory if self.create_tables is None else self.create_tables


@dataclass(frozen=True, kw_only=True)
class LimitsConfig:
    """How much work the service takes on, and from whom.

    ``concurrency`` requests use the database at once (default: the pool size),
    ``queue_size`` more wait in order (default: four times that) for at most
    ``queue_timeout`` seconds; past that a request is shed with 503 and
    ``Retry-After``. ``rate_limit=(rate, per)`` gives every principal (or, before
    it authenticates, every address) ``rate`` requests per ``per`` seconds, with
    bursts of ``rate_burst``; in Redis when the service has one, so the limit
    holds across instances. ``rate_limiter`` brings a limiter of your own.
    """

    concurrency: int | None = None
    queue_size: int | None = None
    queue_timeout: float = 1.0
    rate_limit: tuple[int, float] | None = None
    rate_burst: int | None = None
    rate_limiter: RateLimiter | None = None
    max_body_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ServiceConfigurationError(f"concurrency must be at least 1: {self.concurrency}")
        if self.queue_size is not None and self.queue_size < 0:
            raise ServiceConfigurationError(f"queue_size cannot be negative: {self.queue_size}")
        if self.queue_timeout < 0:
            raise ServiceConfigurationError(
                f"queue_timeout cannot be negative: {self.queue_timeout}"
            )
        _positive("max_body_bytes", self.max_body_bytes)
        if self.rate_limit is not None and self.rate_limiter is not None:
            raise ServiceConfigurationError("give rate_limit or rate_limiter, not both")


@dataclass(frozen=True, kw_only=True)
class OutageConfig:
    """What the service does while the database is down.

    ``breaker`` (default ``CircuitBreaker()``: open after 5 failures in a row,
    probe after 5 s) refuses at once instead of letting every request wait for
    its own timeout. ``read_cache`` keeps the last answer of every read to serve,
    marked stale, while the database cannot answer: in Redis when the service
    has one, in process otherwise.
    """

    breaker: CircuitBreaker | None = None
    read_cache: ReadCache | None = None


@dataclass(frozen=True, kw_only=True)
class IdempotencyConfig:
    """Where keyed writes are recorded (a table in the service's database) and for
    how long: keys older than ``ttl`` seconds are purged, so a retry arriving
    later than that is applied as a new write."""

    ttl: float = 86_400.0
    table: str = "faasify_idempotency"

    def __post_init__(self) -> None:
        _positive("idempotency ttl", self.ttl)
        if not self.table or len(self.table) > 63:
            raise ServiceConfigurationError(f"not a usable table name: {self.table!r}")
