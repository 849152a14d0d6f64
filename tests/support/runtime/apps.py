"""Apps the runtime loop's tests run in a real ``faasify runtime`` process.

Every app reports what it did through files in a directory the test names
(``?dir=``), since it runs in another process: a test waits on those files,
never on a clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from flask import Flask, Response, request
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from faasify import handler
from faasify.adapters.aws.runtime import after_response


def _note(directory: str, name: str, text: str = "") -> None:
    """Write ``name`` in ``directory`` at once (readers poll for it)."""
    path = Path(directory) / name
    path.write_text(text, encoding="utf-8")


async def _until(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(path.exists):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        await asyncio.sleep(0.005)


# -- ASGI ---------------------------------------------------------------------------------


async def hello(request: Request) -> JSONResponse:
    scope = request.scope
    return JSONResponse(
        {
            "path": request.url.path,
            "tenant": scope.get("faasify.tenant_id"),
            "context_tenant": getattr(scope["aws.context"], "tenant_id", None),
            "trace": os.environ.get("_X_AMZN_TRACE_ID"),
            "pid": os.getpid(),
        },
        headers={"X-Probe": "1"},
    )


async def cookies(request: Request) -> PlainTextResponse:
    response = PlainTextResponse("with cookies", headers={"X-Repeat": "a"})
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    response.raw_headers.append((b"x-repeat", b"b"))
    return response


async def sse(request: Request) -> StreamingResponse:
    """``n`` events; the last waits for the file ``go`` in ``dir`` to exist."""
    directory = Path(request.query_params["dir"])
    count = int(request.query_params.get("n", "3"))

    async def events() -> AsyncIterator[str]:
        try:
            for index in range(count):
                if index == count - 1:
                    await _until(directory / "go")
                _note(str(directory), f"produced-{index}")
                yield f"id: {index}\ndata: event {index}\n\n"
        finally:
            _note(str(directory), "generator-closed")

    return StreamingResponse(events(), media_type="text/event-stream")


async def download(request: Request) -> StreamingResponse:
    """``mb`` megabytes in 64 KB chunks, made as they are sent."""
    size = int(float(request.query_params.get("mb", "1")) * 1024 * 1024)
    piece = 64 * 1024

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        while sent < size:
            step = min(piece, size - sent)
            yield bytes([sent // piece % 251]) * step
            sent += step

    return StreamingResponse(
        body(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": 'attachment; filename="data.bin"'},
    )


async def endless(request: Request) -> StreamingResponse:
    """Chunks until the reader goes away; notes how many it made and that it stopped."""
    directory = request.query_params["dir"]

    async def body() -> AsyncIterator[bytes]:
        made = 0
        try:
            while True:
                made += 1
                _note(directory, "made", str(made))
                yield b"x" * 1024
        finally:
            _note(directory, "stopped", str(made))

    return StreamingResponse(body(), media_type="application/octet-stream")


async def boom_mid(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"first part;"
        raise RuntimeError("broke mid-stream")

    return StreamingResponse(body(), media_type="text/plain")


async def boom_early(request: Request) -> PlainTextResponse:
    raise RuntimeError("broke before the response")


async def later(request: Request) -> PlainTextResponse:
    """A background task and an after_response call, each noting when it ran."""
    directory = request.query_params["dir"]
    seconds = float(request.query_params.get("sleep", "0"))

    async def background() -> None:
        if seconds:
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                _note(directory, "background-cancelled")
                raise
        _note(directory, "background", str(time.time()))

    def hook(word: str) -> None:
        _note(directory, "after", word)

    after_response(hook, "ran")
    return PlainTextResponse("answered", background=BackgroundTask(background))


async def together(request: Request) -> JSONResponse:
    """Answers once ``n`` requests are in here at the same time (else times out)."""
    directory = Path(request.query_params["dir"])
    count = int(request.query_params.get("n", "2"))
    _note(str(directory), f"in-{os.getpid()}-{id(request)}")
    deadline = time.monotonic() + 20
    while len(await asyncio.to_thread(lambda: list(directory.glob("in-*")))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the others never came")
        await asyncio.sleep(0.005)
    return JSONResponse({"pid": os.getpid(), "tenant": request.scope.get("faasify.tenant_id")})


async def crash(request: Request) -> PlainTextResponse:
    os._exit(3)


async def failing_later(request: Request) -> PlainTextResponse:
    def background() -> None:
        raise ValueError("the background task failed")

    return PlainTextResponse("answered", background=BackgroundTask(background))


starlette_app = Starlette(
    routes=[
        Route("/hello", hello),
        Route("/cookies", cookies),
        Route("/sse", sse),
        Route("/download", download),
        Route("/endless", endless),
        Route("/boom-mid", boom_mid),
        Route("/boom-early", boom_early),
        Route("/later", later),
        Route("/failing-later", failing_later),
        Route("/together", together),
        Route("/crash", crash),
    ]
)
asgi_handler = handler(starlette_app)


# -- WSGI ---------------------------------------------------------------------------------

flask_app = Flask("runtime-apps")


@flask_app.route("/hello")
def flask_hello() -> dict[str, object]:
    return {"tenant": request.environ.get("faasify.tenant_id"), "pid": os.getpid()}


@flask_app.route("/stream")
def flask_stream() -> Response:
    directory = request.args["dir"]
    count = int(request.args.get("n", "3"))

    def rows() -> Iterator[str]:
        for index in range(count):
            if index == count - 1:
                deadline = time.monotonic() + 20
                while not (Path(directory) / "go").exists():
                    if time.monotonic() > deadline:
                        raise TimeoutError("go never appeared")
                    time.sleep(0.005)
            _note(directory, f"produced-{index}")
            yield f"row {index}\n"

    return Response(rows(), mimetype="text/csv")


@flask_app.route("/later")
def flask_later() -> Response:
    directory = request.args["dir"]
    request.environ["faasify.after_response"](_note, directory, "after", "environ hook")
    response = Response("answered")
    response.call_on_close(lambda: _note(directory, "closed", "call_on_close"))
    return response


@flask_app.route("/slow-later")
def flask_slow_later() -> Response:
    directory = request.args["dir"]
    seconds = float(request.args.get("sleep", "5"))

    def slow() -> None:
        time.sleep(seconds)
        _note(directory, "after", "finished")

    after_response(slow)
    return Response("answered")


@flask_app.route("/boom-mid")
def flask_boom_mid() -> Response:
    def rows() -> Iterator[bytes]:
        yield b"first row\n"
        raise RuntimeError("broke mid-stream")

    return Response(rows(), mimetype="text/csv")


wsgi_handler = handler(flask_app)


def plain_function(event: dict[str, object], context: object) -> dict[str, object]:
    """A handler that is a plain function, answering as an HTTP integration."""
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "cookies": ["c=3"],
        "body": json.dumps({"echo": event.get("rawPath")}),
    }
