"""The list endpoint the process-model benchmark runs: ten todos from PostgreSQL.

It stands in for the todolist's list endpoint: a FastAPI app with a module-scope
pool opened at cold start, one `SELECT` per request.
"""

import os

from fastapi import FastAPI

from faasify import handler
from faasify.pools import PostgresPool

db = PostgresPool(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
app = FastAPI()


@app.get("/todos")
async def todos() -> list[dict[str, object]]:
    rows = await db.fetch(
        "SELECT id, text, done FROM faasify_bench_todos WHERE owner = $1 ORDER BY id LIMIT 10",
        "alice",
    )
    return [dict(row) for row in rows]


lambda_handler = handler(app, on_startup=[db.open])
