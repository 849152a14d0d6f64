"""A function holding a PostgreSQL pool, for "N instances hold N connections"."""

import asyncio
import os

from fastapi import FastAPI

from faasify import handler
from faasify.pools import PostgresPool

db = PostgresPool(
    os.environ["FAASIFY_TEST_PG"],
    server_settings={"application_name": os.environ["FAASIFY_TEST_TAG"]},
)
app = FastAPI()


@app.get("/hold")
async def hold(s: float = 0.3) -> dict[str, int]:
    value = await db.fetchval("SELECT 1")
    await asyncio.sleep(s)
    return {"db": value, "pid": os.getpid()}


lambda_handler = handler(app, on_startup=[db.open])
