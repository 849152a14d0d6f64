"""What PostgreSQL and Redis themselves report about a test's connections."""

from __future__ import annotations


class Servers:
    """What the servers themselves report about a test's connections."""

    def __init__(self, pg_url: str | None, redis_url: str | None) -> None:
        self._pg_url = pg_url
        self._redis_url = redis_url

    @property
    def pg_url(self) -> str:
        """PostgreSQL's URL; only fixtures that reached the server make one."""
        assert self._pg_url is not None, "this test's fixture did not ask for PostgreSQL"
        return self._pg_url

    @property
    def redis_url(self) -> str:
        """Redis's URL; only fixtures that reached the server make one."""
        assert self._redis_url is not None, "this test's fixture did not ask for Redis"
        return self._redis_url

    def pg_backends(self, name: str) -> int:
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    def pg_terminate(self, name: str) -> int:
        import psycopg

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

        client = redis.Redis.from_url(self.redis_url)
        try:
            return sum(1 for c in client.client_list() if c.get("name") == name)
        finally:
            client.close()

    def redis_kill(self, name: str) -> int:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            killed = 0
            for c in client.client_list():
                if c.get("name") == name:
                    killed += client.client_kill_filter(_id=c["id"])
            return killed
        finally:
            client.close()
