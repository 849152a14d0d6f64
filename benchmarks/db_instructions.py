"""What a warm invoke with one query costs through faasify and its pool, in instructions.

``python -m benchmarks.db_instructions`` (needs PostgreSQL: ``DATABASE_URL`` or
127.0.0.1:5432) counts, under callgrind, a FastAPI route that runs one
``SELECT 1``, reached two ways in one process:

- ``bare``: the app called with a ready scope on one event loop, its query on one
  asyncpg connection opened before the count: the least a resident process
  can do per request;
- ``faasify-connection``: ``faasify.handler(app)`` invoked with an HTTP API 2.0
  event, its query on one asyncpg connection the app opened on its first request:
  what the adapter adds;
- ``faasify-pool``: the same, its query on a module-scope
  ``faasify.pools.PostgresPool``: what the pool adds on top.

The figure per invoke is the difference of two batch sizes, as in
:mod:`benchmarks.instructions`, so what happens once (the pool's first connect, the
lifespan) does not count; the pool's ``opened`` counter says how many connections
the invokes took.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.instructions import _compile_marks, _read_dumps, under_callgrind

__all__ = ["ROADS", "main"]

ROADS = ("bare", "faasify-connection", "faasify-pool")
N1, N2 = 50, 250

_SCRIPT = """
import asyncio, ctypes, gc, json, sys
marks = ctypes.CDLL({marks!r})
marks.marks_dump.argtypes = [ctypes.c_char_p]
import asyncpg
from fastapi import FastAPI
import faasify
from faasify.adapters.aws.events import build_event
from faasify.pools import PostgresPool

url = {url!r}
bare_app, connected_app, pooled_app = FastAPI(), FastAPI(), FastAPI()
loop = asyncio.new_event_loop()
conn = loop.run_until_complete(asyncpg.connect(url))
pool = PostgresPool(url)

@bare_app.get("/db")
async def bare_route() -> dict[str, int]:
    return {{"one": await conn.fetchval("SELECT 1")}}

own = []

@connected_app.get("/db")
async def connected_route() -> dict[str, int]:
    if not own:
        own.append(await asyncpg.connect(url))
    return {{"one": await own[0].fetchval("SELECT 1")}}

@pooled_app.get("/db")
async def pooled_route() -> dict[str, int]:
    return {{"one": await pool.fetchval("SELECT 1")}}

scope = {{
    "type": "http", "asgi": {{"version": "3.0", "spec_version": "2.4"}},
    "http_version": "1.1", "method": "GET", "scheme": "https", "path": "/db",
    "raw_path": b"/db", "root_path": "", "query_string": b"",
    "headers": [(b"host", b"example.com"), (b"accept", b"application/json")],
    "client": ("198.51.100.7", 0), "server": ("example.com", 443),
}}

def bare():
    body = []
    async def receive():
        return {{"type": "http.request", "body": b"", "more_body": False}}
    async def send(message):
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))
    loop.run_until_complete(bare_app(dict(scope), receive, send))
    return b"".join(body)

connected = faasify.handler(connected_app)
handler = faasify.handler(pooled_app)
event = build_event("http-api-v2", "GET", "/db", "", [("accept", "application/json")])

def faasify_connection():
    return connected(event, None)["body"].encode()

def faasify_pool():
    return handler(event, None)["body"].encode()

for index, road in enumerate((bare, faasify_connection, faasify_pool)):
    for _ in range(50):
        assert json.loads(road()) == {{"one": 1}}, road()
    gc.collect()
    gc.freeze()
    for n in ({n1}, {n2}):
        marks.marks_zero()
        for _ in range(n):
            road()
        marks.marks_dump(f"{{index}}:{{n}}".encode())
    gc.unfreeze()
print(json.dumps({{"opened": pool.stats.opened, "invokes": 50 + {n1} + {n2}}}))
connected.close()
handler.close()
loop.run_until_complete(conn.close())
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.db_instructions")
    parser.add_argument("--json", help="also write the counts to this JSON file")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    url = "postgresql://" + url.split("://", 1)[1]
    with tempfile.TemporaryDirectory(prefix="faasify-db-") as tmp:
        marks = _compile_marks(Path(tmp))
        script = _SCRIPT.format(marks=str(marks), url=url, n1=N1, n2=N2)
        printed = under_callgrind(Path(tmp), "-c", script)
        dumps = _read_dumps(Path(tmp))
    pool = json.loads(printed.strip().splitlines()[-1])
    counts = {road: (dumps[(i, N2)] - dumps[(i, N1)]) / (N2 - N1) for i, road in enumerate(ROADS)}
    if args.json:
        Path(args.json).write_text(json.dumps({**counts, "pool": pool}, indent=1))
    base, connection = counts["bare"], counts["faasify-connection"]
    for road, count in counts.items():
        print(
            f"{road:19s} {count:10,.0f} instructions per invoke ({count / base:.3f}x bare, "
            f"{count / connection:.3f}x faasify-connection)"
        )
    print(f"the pool opened {pool['opened']} connection(s) over {pool['invokes']} invokes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
