"""The reader's app, for the blocks that wrap "your app" (the ``app:`` marker)."""

from __future__ import annotations

from typing import Any

__all__ = ["HELLO", "hello_app"]

HELLO = {"hello": "world"}


def hello_app(framework: str) -> Any:
    """A small app of ``framework`` whose ``GET /`` answers :data:`HELLO`."""
    if framework == "fastapi":
        from fastapi import FastAPI

        fastapi_app = FastAPI()
        fastapi_app.get("/")(lambda: HELLO)
        return fastapi_app
    if framework == "flask":
        from flask import Flask

        flask_app = Flask("docs_reader_app")
        flask_app.add_url_rule("/", view_func=lambda: HELLO)
        return flask_app
    raise AssertionError(f"app: {framework!r} is not a framework the docs tests provide")
