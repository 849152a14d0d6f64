"""A real instance process for the SIGTERM tests: run as a script, not collected.

It builds a handler at import (cold start), answers one invoke, prints READY
and then idles in a blocking call the way a Lambda runtime waits for its next
invocation. With ``slow`` as argument it is signalled during an invoke instead.
"""

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from faasify import handler
from faasify.adapters.aws.events import build_event


def say(text: str) -> None:
    print(text, flush=True)


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    say("STARTUP")
    yield
    await asyncio.sleep(0.05)  # closing things takes a moment
    say("SHUTDOWN")


async def fast(request: Any) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def slow(request: Any) -> PlainTextResponse:
    say("INVOKING")
    await asyncio.sleep(1.0)
    return PlainTextResponse("slow ok")


app = Starlette(routes=[Route("/", fast), Route("/slow", slow)], lifespan=lifespan)
lambda_handler = handler(app, shutdown_timeout=1.0)

result = lambda_handler(build_event("http-api-v2", "GET", "/"), None)
say(f"STATUS {result['statusCode']}")
if sys.argv[1:] == ["slow"]:
    result = lambda_handler(build_event("http-api-v2", "GET", "/slow"), None)
    say(f"STATUS {result['statusCode']} {result['body']}")
say("READY")
while True:
    time.sleep(0.1)
