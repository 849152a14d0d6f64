"""The todo API and page on Flask (WSGI), as a FaaS function.

```sh
TODO_STAGE=pooled faasify serve examples.todolist.flask_app:handler
```

The store is made once, when the module is imported (the instance's cold
start), and reused by every warm invoke.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, send_from_directory
from werkzeug.exceptions import HTTPException

import faasify
from examples.todolist.api import (
    EXPORT_HEADER,
    EXPORT_PATH,
    ROUTES,
    UNEXPECTED,
    Call,
    Problem,
    Reply,
    Route,
    TodoAPI,
)
from examples.todolist.settings import Settings
from examples.todolist.stores import make_store, run_sync

__all__ = ["create_app"]  # and app, handler: see __getattr__

logger = logging.getLogger("examples.todolist")
STATIC = Path(__file__).parent / "static"


def _json(status: int, body: Any, headers: dict[str, str], media: str) -> Response:
    import json

    response = Response(json.dumps(body), status=status, mimetype=media)
    response.headers.update(headers)
    return response


def _problem(problem: Problem) -> Response:
    return _json(problem.status, problem.body(), problem.headers, "application/problem+json")


def _reply(reply: Reply) -> Response:
    if reply.body is None:
        response = Response(status=reply.status)
        response.headers.update(reply.headers)
        return response
    return _json(reply.status, reply.body, reply.headers, "application/json")


def create_app(settings: Settings | None = None) -> Flask:
    """A Flask app over the store ``settings`` (default: the environment) ask for."""
    settings = settings or Settings.from_env()
    api = TodoAPI(
        make_store(settings, asynchronous=False),
        settings.secret,
        settings.token_ttl,
        settings.stage,
    )
    app = Flask(__name__, static_folder=STATIC, static_url_path="/static")
    app.extensions["todolist"] = api

    def endpoint(route: Route) -> Any:
        def view(**path: str) -> Response:
            user = (
                api.authenticate(request.headers.get("Authorization"))
                if route.authenticated
                else None
            )
            call = Call(user, request.args, request.get_data(), path)
            return _reply(run_sync(api.dispatch(route, call)))

        return view

    for route in ROUTES:
        app.add_url_rule(
            route.path.replace("{", "<").replace("}", ">"),
            endpoint=f"{route.action}",
            view_func=endpoint(route),
            methods=[route.method],
        )

    @app.get(EXPORT_PATH)
    def export() -> Response:
        # The first page before the head: a store that fails gets a clean problem.
        user = api.authenticate(request.headers.get("Authorization"))
        rows, cursor = run_sync(api.export_page(user, None))

        def pages() -> Iterator[str]:
            nonlocal cursor
            yield EXPORT_HEADER + rows
            while cursor is not None:
                more, cursor = run_sync(api.export_page(user, cursor))
                yield more

        return Response(
            pages(),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="todos.csv"'},
        )

    @app.get("/")
    def page() -> Response:
        return send_from_directory(STATIC, "index.html")

    @app.errorhandler(Problem)
    def problem(exc: Problem) -> Response:
        return _problem(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        allow = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return _problem(Problem.for_status(exc.code or 500, allow))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        logger.exception("unexpected error serving %s %s", request.method, request.path)
        return _problem(UNEXPECTED)

    return app


def __getattr__(name: str) -> Any:
    """``app`` and ``handler``, built from the environment on first access.

    A platform's runtime looks ``handler`` up while it loads the module (the
    init phase), so this still happens once per instance, at cold start; what
    imports only :func:`create_app` (the tests, ``python -m examples.todolist``)
    does not build an app it will not use.
    """
    if name in ("app", "handler"):
        built = create_app()
        globals().update(app=built, handler=faasify.handler(built))
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
