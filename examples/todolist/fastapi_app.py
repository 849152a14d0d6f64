"""The todo API and page on FastAPI (ASGI), as a FaaS function.

```sh
TODO_STAGE=baas faasify serve examples.todolist.fastapi_app:handler
```

The store is made in the app's lifespan, which faasify runs once per instance
on the instance's event loop: the async pool or client it holds is reused by
every warm invoke and closed when the instance ends.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

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
from examples.todolist.live import LiveChanges
from examples.todolist.settings import Settings
from examples.todolist.stores import make_store

__all__ = ["create_app"]  # and app, handler: see __getattr__

logger = logging.getLogger("examples.todolist")
STATIC = Path(__file__).parent / "static"


def _problem(problem: Problem) -> Response:
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json",
    )


def _reply(reply: Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A FastAPI app over the store ``settings`` (default: the environment) ask for."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = make_store(settings, asynchronous=True)
        app.state.api = TodoAPI(store, settings.secret, settings.token_ttl, settings.stage)
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    live = LiveChanges.from_env()  # pages hear of changes over a WebSocket API (live.py)
    app.router.routes.append(live.route(lambda websocket: websocket.app.state.api))

    def endpoint(route: Route) -> Any:
        async def view(request: Request) -> Response:
            api: TodoAPI = request.app.state.api
            user = (
                api.authenticate(request.headers.get("authorization"))
                if route.authenticated
                else None
            )
            call = Call(user, request.query_params, await request.body(), request.path_params)
            reply = await api.dispatch(route, call)
            if user is not None and route.method != "GET" and reply.status < 400:
                await live.changed(user.name, route.action, request.headers.get("x-todo-tab"))
            response = _reply(reply)
            if live.enabled:
                response.headers["X-Todo-Live"] = "on"  # the page may listen for changes
            return response

        return view

    for route in ROUTES:
        app.add_api_route(route.path, endpoint(route), methods=[route.method], name=route.action)

    @app.get(EXPORT_PATH, include_in_schema=False)
    async def export(request: Request) -> StreamingResponse:
        api: TodoAPI = request.app.state.api
        # The first page before the head: a store that fails gets a clean problem.
        user = api.authenticate(request.headers.get("authorization"))
        rows, cursor = await api.export_page(user, None)

        async def pages() -> AsyncIterator[str]:
            nonlocal cursor
            yield EXPORT_HEADER + rows
            while cursor is not None:
                more, cursor = await api.export_page(user, cursor)
                yield more

        return StreamingResponse(
            pages(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="todos.csv"'},
        )

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> Response:
        return _problem(exc)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _problem(Problem.for_status(exc.status_code, exc.headers))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error serving %s %s", request.method, request.url.path)
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
        handler = faasify.handler(built)
        handler.websockets(path="/live")  # a WebSocket API's events reach live.py's route
        globals().update(app=built, handler=handler)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
