"""The app of the time-to-first-byte benchmark: a CSV export made as it is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from faasify import handler

_ROW = "{:08d},2026-01-01T00:00:00Z,todo number {:08d},{},alice@example.com\n"


async def export(request: Request) -> StreamingResponse:
    """``mb`` megabytes of CSV rows, in chunks of about 64 KB, each made when sent."""
    size = int(float(request.query_params.get("mb", "5")) * 1024 * 1024)

    async def rows() -> AsyncIterator[str]:
        sent = number = 0
        while sent < size:
            chunk = "".join(_ROW.format(n, n, n % 2 == 0) for n in range(number, number + 800))
            number += 800
            chunk = chunk[: size - sent]
            sent += len(chunk)
            yield chunk

    return StreamingResponse(rows(), media_type="text/csv")


app = Starlette(routes=[Route("/export", export)])
lambda_handler = handler(app)
