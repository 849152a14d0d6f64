"""Handlers the local-runtime tests run in real instance processes."""

import asyncio
import os
import time

from fastapi import FastAPI
from flask import Flask, request

from faasify import handler

flask_app = Flask("runtime-test")


@flask_app.route("/echo/<path:rest>", methods=["GET", "POST"])
def flask_echo(rest: str) -> dict[str, object]:
    return {
        "rest": rest,
        "args": request.args.to_dict(flat=False),
        "body": request.get_data(as_text=True),
        "cookie": request.cookies.get("c"),
    }


@flask_app.route("/slow")
def flask_slow() -> dict[str, object]:
    time.sleep(float(request.args.get("s", "0.05")))
    return {"pid": os.getpid()}


@flask_app.route("/crash")
def flask_crash() -> dict[str, object]:
    os._exit(3)


fastapi_app = FastAPI()


@fastapi_app.api_route("/echo/{rest:path}", methods=["GET", "POST"])
async def fastapi_echo(rest: str, x: str = "") -> dict[str, object]:
    return {"rest": rest, "x": x}


@fastapi_app.get("/slow")
async def fastapi_slow(s: float = 0.05) -> dict[str, object]:
    await asyncio.sleep(s)
    return {"pid": os.getpid()}


flask_handler = handler(flask_app)
fastapi_handler = handler(fastapi_app)


def raising_handler(event: object, context: object) -> object:
    """A handler (not an app) whose own code raises: an invocation error."""
    return 1 / 0
