"""A small Starlette app that shows the instance life faasify gives it.

Its lifespan runs once per instance: reload the page and watch the invoke
count grow while the startup count stays at 1.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from faasify import handler

startups = 0


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
    global startups
    startups += 1
    yield {"started_at": time.time(), "invokes": [0]}


async def home(request: Request) -> HTMLResponse:
    request.state.invokes[0] += 1
    return HTMLResponse(
        "<!doctype html><title>faasify demo</title>"
        "<h1>faasify demo</h1>"
        f"<p>process {os.getpid()}: lifespan startups <b>{startups}</b>, "
        f"invokes <b>{request.state.invokes[0]}</b></p>"
        f'<p><a href="{request.url_for("stats")}">stats as JSON</a></p>'
    )


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "pid": os.getpid(),
            "lifespan_startups": startups,
            "invokes": request.state.invokes[0],
            "uptime_s": round(time.time() - request.state.started_at, 3),
        }
    )


app = Starlette(routes=[Route("/", home), Route("/stats", stats, name="stats")], lifespan=lifespan)
lambda_handler = handler(app)
