"""Real PostgreSQL and Redis for the pool tests (DATABASE_URL / REDIS_URL, or the
local defaults). A missing server skips with a reason; under CI it fails."""

from __future__ import annotations

import os
import uuid

import pytest

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _plain_pg_url() -> str:
    scheme, _, rest = DATABASE_URL.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    import psycopg

    try:
        with psycopg.connect(_plain_pg_url(), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {DATABASE_URL}: {exc}")
    return _plain_pg_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def tag() -> str:
    """A unique application/client name, so counts see only this test's connections."""
    return f"faasify-test-{uuid.uuid4().hex[:10]}"


class Servers:
    """What the servers themselves report about a test's connections."""

    def __init__(self, pg_url: str | None, redis_url: str | None) -> None:
        self.pg_url = pg_url
        self.redis_url = redis_url

    def pg_backends(self, name: str) -> int:
        import psycopg

        assert self.pg_url is not None
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    def pg_terminate(self, name: str) -> int:
        import psycopg

        assert self.pg_url is not None
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def redis_clients(self, name: str) -> int:
        import redis

        assert self.redis_url is not None
        client = redis.Redis.from_url(self.redis_url)
        try:
            return sum(1 for c in client.client_list() if c.get("name") == name)
        finally:
            client.close()

    def redis_kill(self, name: str) -> int:
        import redis

        assert self.redis_url is not None
        client = redis.Redis.from_url(self.redis_url)
        try:
            killed = 0
            for c in client.client_list():
                if c.get("name") == name:
                    killed += client.client_kill_filter(_id=c["id"])
            return killed
        finally:
            client.close()


@pytest.fixture
def pg(pg_url: str) -> Servers:
    return Servers(pg_url, None)


@pytest.fixture
def servers(pg_url: str, redis_url: str) -> Servers:
    return Servers(pg_url, redis_url)
