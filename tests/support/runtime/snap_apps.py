"""A function for the SnapStart tests: hooks of its own, ``random``, and (when
``FAASIFY_TEST_PG`` is set) a PostgreSQL pool opened at init."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from faasify import handler
from faasify.adapters.aws.runtime import after_restore, before_snapshot
from faasify.pools import PostgresPool

DIRECTORY = Path(os.environ["SNAP_TEST_DIR"])
#: Made at init: the same in every copy restored from one snapshot.
AT_INIT = random.random()

db = (
    PostgresPool(
        os.environ["FAASIFY_TEST_PG"],
        min_size=1,
        server_settings={"application_name": os.environ["FAASIFY_TEST_TAG"]},
    )
    if os.environ.get("FAASIFY_TEST_PG")
    else None
)


@before_snapshot
def note_snapshot() -> None:
    if os.environ.get("SNAP_FAIL") == "before":
        raise RuntimeError("the before-snapshot hook failed")
    (DIRECTORY / "before").write_text(str(os.getpid()), encoding="utf-8")


@after_restore
def note_restore() -> None:
    if os.environ.get("SNAP_FAIL") == "after":
        raise RuntimeError("the after-restore hook failed")
    (DIRECTORY / f"after-{os.getpid()}").write_text("", encoding="utf-8")


async def numbers(request: Request) -> JSONResponse:
    return JSONResponse({"random": random.random(), "at_init": AT_INIT, "pid": os.getpid()})


async def query(request: Request) -> JSONResponse:
    assert db is not None
    value = await db.fetchval("SELECT 1")
    return JSONResponse({"db": value, "stats": db.stats.as_dict(), "pid": os.getpid()})


async def together(request: Request) -> JSONResponse:
    """Answers once ``n`` requests are in at the same time: so many instances."""
    directory = Path(request.query_params["dir"])
    count = int(request.query_params.get("n", "2"))
    (directory / f"in-{os.getpid()}").write_text("", encoding="utf-8")
    deadline = time.monotonic() + 30
    while len(await asyncio.to_thread(lambda: list(directory.glob("in-*")))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the others never came")
        await asyncio.sleep(0.005)
    if db is not None:
        await db.fetchval("SELECT 1")
    return JSONResponse({"random": random.random(), "at_init": AT_INIT, "pid": os.getpid()})


app = Starlette(
    routes=[Route("/random", numbers), Route("/db", query), Route("/together", together)]
)
lambda_handler = handler(app, on_startup=[db.open] if db is not None else [])
