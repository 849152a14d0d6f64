"""A function image's entry point for the IronFunctions tests.

``python -m tests.support.ironfunctions_app {default|hot} {flask|fastapi}``
serves the echo app of :mod:`tests.support.apps` in that format, with two extra
routes: ``/noisy``, which prints to stdout (the protocol's stream), and, for
FastAPI, ``/lifespan``, which reports how often the lifespan started in this
process. The lifespan also prints to stdout and logs to stderr, so that the
tests can count its runs and see that nothing stray reaches the protocol.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from faasify.adapters.ironfunctions import run_default, run_hot
from tests.support.apps import fastapi_app, flask_app


def _flask() -> Any:
    from flask import Flask, Response

    app: Flask = flask_app()

    @app.route("/noisy")
    def noisy() -> Any:
        print("noise from the app")
        return Response("quiet", content_type="text/plain")

    return app


def _fastapi() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app: FastAPI = fastapi_app()
    runs = {"startup": 0, "shutdown": 0}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        runs["startup"] += 1
        print("noise from the lifespan")
        print("lifespan startup", file=sys.stderr, flush=True)
        yield
        runs["shutdown"] += 1
        print("lifespan shutdown", file=sys.stderr, flush=True)

    app.router.lifespan_context = lifespan

    @app.get("/noisy")
    async def noisy() -> PlainTextResponse:
        print("noise from the app")
        return PlainTextResponse("quiet")

    @app.get("/lifespan")
    async def lifespan_runs() -> dict[str, int]:
        return {"startups": runs["startup"], "pid": os.getpid()}

    return app


def main() -> int:
    mode, framework = sys.argv[1:3]
    app = _flask() if framework == "flask" else _fastapi()
    return run_default(app) if mode == "default" else run_hot(app)


if __name__ == "__main__":
    sys.exit(main())
