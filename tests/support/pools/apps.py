"""A FastAPI app on asyncpg + redis.asyncio and a Flask app on SQLAlchemy + sync
Redis, each with its pools declared at module scope as users write them."""

from typing import Any

from faasify.pools import PostgresPool, RedisPool, SQLAlchemyPool, SyncRedisPool


def fastapi_app(pg_url: str, redis_url: str, name: str, **pool_options: Any) -> Any:
    from fastapi import FastAPI

    db = PostgresPool(pg_url, server_settings={"application_name": name}, **pool_options)
    cache = RedisPool(redis_url, client_name=name)
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, Any]:
        return {"db": await db.fetchval("SELECT 1"), "hits": await cache.client.incr(name)}

    app.state.pools = (db, cache)
    return app


def flask_app(pg_url: str, redis_url: str, name: str, **pool_options: Any) -> Any:
    from flask import Flask
    from sqlalchemy import text

    url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    db = SQLAlchemyPool(url, connect_args={"application_name": name}, **pool_options)
    cache = SyncRedisPool(redis_url, client_name=name)
    app = Flask(name)

    @app.get("/ping")
    def ping() -> dict[str, Any]:
        with db.read() as conn:
            value = conn.execute(text("SELECT 1")).scalar()
        return {"db": value, "hits": cache.client.incr(name)}

    app.config["pools"] = (db, cache)
    return app


def pools_of(app: Any) -> tuple[Any, Any]:
    pools: tuple[Any, Any] = app.state.pools if hasattr(app, "state") else app.config["pools"]
    return pools
