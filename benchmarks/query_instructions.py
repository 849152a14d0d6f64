"""What one ``SELECT 1`` costs the client, in instructions, by the road it takes.

``python -m benchmarks.query_instructions`` (needs PostgreSQL: ``DATABASE_URL`` or
127.0.0.1:5432) counts, under callgrind, one query through: asyncpg directly
(as ``faasify.pools.PostgresPool`` lends it), a plain SQLAlchemy async engine,
``faasify.pools.SQLAlchemyPool``, and the asyncpg connection reached through
that pool. Each figure includes one run of the event loop per query, the same
for all four.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.instructions import _compile_marks, under_callgrind

__all__ = ["ROADS", "main"]

ROADS = ("asyncpg", "sqlalchemy-engine", "sqlalchemy-pool", "driver-through-pool")

_SCRIPT = """
import asyncio, ctypes, gc, json, sys
marks = ctypes.CDLL({marks!r})
marks.marks_dump.argtypes = [ctypes.c_char_p]
import asyncpg, sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from faasify.pools import SQLAlchemyPool

url = {url!r}
loop = asyncio.new_event_loop()
conn = loop.run_until_complete(asyncpg.connect(url))
engine = create_async_engine("postgresql+asyncpg://" + url.split("://", 1)[1],
                             pool_size=1, max_overflow=0)
pool = SQLAlchemyPool("postgresql+asyncpg://" + url.split("://", 1)[1])
one = sa.text("SELECT 1")

async def asyncpg_road():
    return await conn.fetchval("SELECT 1")

async def engine_road():
    async with engine.connect() as c:
        return (await c.execute(one)).scalar()

async def pool_road():
    async with pool.read() as c:
        return (await c.execute(one)).scalar()

async def driver_road():
    async with pool.read() as c:
        raw = await c.get_raw_connection()
        return await raw.driver_connection.fetchval("SELECT 1")

roads = dict(zip({roads!r}, (asyncpg_road, engine_road, pool_road, driver_road)))
for index, road in enumerate(roads.values()):
    for _ in range(50):
        assert loop.run_until_complete(road()) == 1
    gc.collect()
    gc.freeze()
    for n in (50, 250):
        marks.marks_zero()
        for _ in range(n):
            loop.run_until_complete(road())
        marks.marks_dump(f"{{index}}:{{n}}".encode())
    gc.unfreeze()
loop.run_until_complete(conn.close())
loop.run_until_complete(engine.dispose())
loop.run_until_complete(pool.close())
"""


def main(argv: Sequence[str] | None = None) -> int:
    from benchmarks.instructions import _read_dumps

    parser = argparse.ArgumentParser(prog="python -m benchmarks.query_instructions")
    parser.add_argument("--json", help="also write the counts to this JSON file")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    url = "postgresql://" + url.split("://", 1)[1]
    with tempfile.TemporaryDirectory(prefix="faasify-query-") as tmp:
        marks = _compile_marks(Path(tmp))
        script = _SCRIPT.format(marks=str(marks), url=url, roads=ROADS)
        under_callgrind(Path(tmp), "-c", script)
        dumps = _read_dumps(Path(tmp))
    counts = {road: (dumps[(i, 250)] - dumps[(i, 50)]) / 200 for i, road in enumerate(ROADS)}
    if args.json:
        Path(args.json).write_text(json.dumps(counts, indent=1))
    base = counts["asyncpg"]
    for road, count in counts.items():
        print(f"{road:22s} {count:10,.0f} instructions per SELECT 1 ({count / base:.1f}x asyncpg)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
