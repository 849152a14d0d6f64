"""The same two-route app in Starlette, FastAPI and Flask.

Each app answers ``GET /items/{id}?x=...`` with a small JSON object and
``POST /items`` by echoing the JSON body it parsed (FastAPI through a pydantic
model, so validation and serialisation are part of the app's own work). The
routes are deliberately tiny: the point is to make the adapter's share of an
invoke visible, and a heavy app would drown it.

The ASGI apps carry a trivial lifespan. It does nothing, but its presence is
what makes ``Mangum(lifespan="auto")`` run a full startup/shutdown cycle on
every invoke (as mangum 0.22 does), while faasify runs it once per instance.
Factories return a fresh app per call so that no candidate shares framework
state (lazily built middleware stacks, lifespan contexts) with another.
"""

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import BaseModel

__all__ = [
    "APP_FACTORIES",
    "GET_RESPONSE",
    "PAYLOAD",
    "Item",
    "fastapi_app",
    "flask_app",
    "starlette_app",
]

#: The JSON document POSTed (and echoed back); about 1 KB once serialised.
PAYLOAD: dict[str, Any] = {
    "name": "widget",
    "description": (
        "A mid-sized widget made of recycled aluminium, suitable for indoor and outdoor "
        "use. Ships flat-packed with an illustrated assembly guide, four spare screws and "
        "a hex key; assembly takes about ten minutes and needs no other tools."
    ),
    "price": 12.5,
    "quantity": 3,
    "tags": ["hardware", "outdoor", "indoor", "recycled", "aluminium", "flat-pack", "sale"],
    "attributes": {
        "colour": "graphite",
        "finish": "anodised matte",
        "width_mm": "420",
        "height_mm": "310",
        "depth_mm": "95",
        "weight_g": "1850",
        "warranty": "24 months, parts and labour",
        "origin": "assembled in Portugal from EU-sourced parts",
        "sku": "WID-0042-GR-M",
        "barcode": "5601234567890",
        "supplier": "Acme Widgets Lda.",
        "care": "wipe with a damp cloth; no solvents",
        "material": "6061 aluminium alloy, 72 % post-consumer recycled",
        "certification": "CE, UKCA, RoHS",
        "packaging": "cardboard, plastic-free, 100 % recyclable",
        "manual": "https://example.com/manuals/WID-0042.pdf",
        "lead_time": "ships within 2 working days",
    },
}

#: What ``GET /items/42?x=1`` answers, in every framework.
GET_RESPONSE: dict[str, Any] = {"id": 42, "x": "1", "name": "widget"}


class Item(BaseModel):
    """The POST body as FastAPI validates it (module level so annotations resolve)."""

    name: str
    description: str
    price: float
    quantity: int
    tags: list[str]
    attributes: dict[str, str]


@contextlib.asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    """A lifespan that does nothing: its cost is the protocol's, not the app's."""
    yield


def starlette_app() -> Any:
    """A Starlette app with async endpoints (no thread pool on the request path)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def read_item(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "id": request.path_params["item_id"],
                "x": request.query_params.get("x"),
                "name": "widget",
            }
        )

    async def create_item(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    return Starlette(
        routes=[
            Route("/items/{item_id:int}", read_item, methods=["GET"]),
            Route("/items", create_item, methods=["POST"]),
        ],
        lifespan=_lifespan,
    )


def fastapi_app() -> Any:
    """The same app in FastAPI; ``async def`` endpoints, as Starlette's are."""
    from fastapi import FastAPI

    app = FastAPI(lifespan=_lifespan)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, x: str | None = None) -> dict[str, Any]:
        return {"id": item_id, "x": x, "name": "widget"}

    @app.post("/items")
    async def create_item(item: Item) -> Item:
        return item

    return app


def flask_app() -> Any:
    """The same app in Flask (WSGI: no lifespan, no event loop)."""
    from flask import Flask, Response, jsonify, request

    app = Flask("bench")

    @app.get("/items/<int:item_id>")
    def read_item(item_id: int) -> Response:
        return jsonify(id=item_id, x=request.args.get("x"), name="widget")

    @app.post("/items")
    def create_item() -> Response:
        return jsonify(request.get_json())

    return app


#: App name -> (factory, kind); the names are the first word of each report group.
APP_FACTORIES: dict[str, tuple[Callable[[], Any], str]] = {
    "starlette": (starlette_app, "asgi"),
    "fastapi": (fastapi_app, "asgi"),
    "flask": (flask_app, "wsgi"),
}
