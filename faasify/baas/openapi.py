"""The OpenAPI 3.1 document of a service: what a client generator and a
schema-driven fuzzer need to call every operation correctly.

Each collection gets three schemas: the item as answered (every exposed column,
all required, nullable ones typed ``[type, "null"]``), the body of a create
(the writable columns, those without a default required, nothing else allowed)
and the body of an update (the writable columns, at least one). Parameters
carry the ranges the service enforces (integer widths, page sizes, string
lengths), so a request valid by the document is one the service accepts.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from faasify.baas.collection import Collection
from faasify.baas.query import NamedQuery
from faasify.baas.values import integer_bounds, python_type

__all__ = ["build_openapi"]

_NO_NUL = "^[^\\u0000]*$"
_ERRORS = (
    (400, "bad request: a parameter or the body cannot be read"),
    (401, "credentials missing or not accepted"),
    (403, "not allowed for this caller"),
    (404, "not found (or not yours)"),
    (409, "the change conflicts with existing data"),
    (413, "body too large"),
    (415, "the body is not JSON"),
    (422, "a field is missing, unknown, or of the wrong type or range"),
    (429, "rate limit reached; retry after Retry-After"),
    (503, "busy or database unavailable; retry after Retry-After"),
)


def _integer(column: sa.Column[Any]) -> dict[str, Any]:
    low, high = integer_bounds(column)
    return {"type": "integer", "minimum": low, "maximum": high}


def _value_schema(column: sa.Column[Any], *, answer: bool) -> dict[str, Any]:
    """The JSON Schema of one column's value, as answered or as sent."""
    kind = python_type(column)
    schema: dict[str, Any]
    if kind is bool:
        schema = {"type": "boolean"}
    elif kind is int:
        schema = _integer(column)
    elif kind is float:
        schema = {"type": "number"}
    elif kind is decimal.Decimal:
        schema = {"type": "string"} if answer else {"type": "number"}
    elif kind is str:
        schema = {"type": "string"}
        length = getattr(column.type, "length", None)
        if length is not None:
            schema["maxLength"] = length
        if not answer:
            schema["pattern"] = _NO_NUL
    elif kind is dt.datetime:
        if answer and not getattr(column.type, "timezone", False):
            # Answered without an offset (the column holds UTC): not RFC 3339's date-time.
            schema = {"type": "string", "description": "ISO 8601, UTC, without an offset"}
        else:
            schema = {"type": "string", "format": "date-time"}
    elif kind is dt.date:
        schema = {"type": "string", "format": "date"}
    elif kind is dt.time:
        schema = {"type": "string", "format": "time"}
    elif kind is uuid.UUID:
        schema = {"type": "string", "format": "uuid"}
    elif kind is bytes:
        schema = {"type": "string", "contentEncoding": "base64"}
    else:  # JSON, or a type without a Python equivalent: any value
        return {}
    if column.nullable or (answer and kind is float):
        schema["type"] = [schema["type"], "null"]
    return schema


def _query_schema(column: sa.Column[Any]) -> dict[str, Any]:
    schema = _value_schema(column, answer=False)
    if isinstance(schema.get("type"), list):
        schema["type"] = schema["type"][0]
    return schema


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _errors(codes: Iterable[int]) -> dict[str, Any]:
    wanted = set(codes)
    return {
        str(code): {
            "description": text,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code, text in _ERRORS
        if code in wanted
    }


_READ_ERRORS = (400, 401, 403, 404, 422, 429, 503)
_WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)


def _collection_paths(collection: Collection, schemas: dict[str, Any]) -> dict[str, dict[str, Any]]:
    name = collection.name
    item = {
        "type": "object",
        "properties": {c.name: _value_schema(c, answer=True) for c in collection.exposed},
        "required": [c.name for c in collection.exposed],
    }
    writable = {c.name: _value_schema(c, answer=False) for c in collection.writable.values()}
    required = [
        c.name
        for c in collection.writable.values()
        if not c.nullable and c.default is None and c.server_default is None
    ]
    create: dict[str, Any] = {
        "type": "object",
        "properties": writable,
        "additionalProperties": False,
    }
    if required:
        create["required"] = required
    update = {
        "type": "object",
        "properties": writable,
        "additionalProperties": False,
        "minProperties": 1,
    }
    schemas[name] = item
    schemas[f"{name}.create"] = create
    schemas[f"{name}.update"] = update
    ref = {"$ref": f"#/components/schemas/{name}"}
    page = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ref},
            "next": {"type": ["string", "null"]},
        },
        "required": ["items", "next"],
    }
    id_schema = _query_schema(collection.id)
    list_parameters = [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": collection.max_page_size},
        },
        {
            "name": "order",
            "in": "query",
            "schema": {"type": "string", "enum": [collection.id.name, f"-{collection.id.name}"]},
        },
        {
            "name": "cursor",
            "in": "query",
            "description": "the `next` of the previous page, as issued to this caller",
            "schema": {"type": "string"},
        },
        *(
            {"name": column_name, "in": "query", "schema": _query_schema(column)}
            for column_name, column in collection.filterable.items()
            if column_name not in ("limit", "order", "cursor")
        ),
    ]
    item_id = {"name": "item_id", "in": "path", "required": True, "schema": id_schema}
    owned = collection.owner is not None
    paths: dict[str, dict[str, Any]] = {
        f"/v1/{name}": {
            "get": {
                "operationId": f"list_{name}",
                "summary": f"List {name}",
                "parameters": list_parameters,
                "responses": {
                    "200": {"description": "a page", "content": _content(page)},
                    **_errors(_READ_ERRORS),
                },
            }
        },
        f"/v1/{name}/{{item_id}}": {
            "get": {
                "operationId": f"get_{name}",
                "summary": f"Get a {name} item",
                "parameters": [item_id],
                "responses": {
                    "200": {"description": "the item", "content": _content(ref)},
                    **_errors(_READ_ERRORS),
                },
            }
        },
    }
    if not owned:
        return paths
    body = {"required": True, "content": _content({"$ref": f"#/components/schemas/{name}.create"})}
    changes = {
        "required": True,
        "content": _content({"$ref": f"#/components/schemas/{name}.update"}),
    }
    paths[f"/v1/{name}"]["post"] = {
        "operationId": f"create_{name}",
        "summary": f"Create a {name} item",
        "requestBody": body,
        "responses": {
            "201": {"description": "created", "content": _content(ref)},
            **_errors(_WRITE_ERRORS),
        },
    }
    paths[f"/v1/{name}"]["delete"] = {
        "operationId": f"delete_many_{name}",
        "summary": f"Delete several {name} items, all or none",
        "parameters": [
            {
                "name": "id",
                "in": "query",
                "required": True,
                "style": "form",
                "explode": True,
                "schema": {
                    "type": "array",
                    "items": id_schema,
                    "minItems": 1,
                    "maxItems": collection.max_page_size,
                },
            }
        ],
        "responses": {"204": {"description": "all deleted"}, **_errors(_WRITE_ERRORS)},
    }
    paths[f"/v1/{name}/{{item_id}}"]["patch"] = {
        "operationId": f"update_{name}",
        "summary": f"Update a {name} item",
        "parameters": [item_id],
        "requestBody": changes,
        "responses": {
            "200": {"description": "updated", "content": _content(ref)},
            **_errors(_WRITE_ERRORS),
        },
    }
    paths[f"/v1/{name}/{{item_id}}"]["delete"] = {
        "operationId": f"delete_{name}",
        "summary": f"Delete a {name} item",
        "parameters": [item_id],
        "responses": {"204": {"description": "deleted"}, **_errors(_WRITE_ERRORS)},
    }
    return paths


_PARAMETER_SCHEMAS: dict[type, dict[str, Any]] = {
    int: {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
    float: {"type": "number"},
    str: {"type": "string", "pattern": _NO_NUL},
    bool: {"type": "boolean"},
}


def _query_path(query: NamedQuery) -> dict[str, Any]:
    return {
        "get": {
            "operationId": f"query_{query.name}",
            "summary": f"Run the named query {query.name}",
            "parameters": [
                {"name": name, "in": "query", "required": True, "schema": _PARAMETER_SCHEMAS[kind]}
                for name, kind in query.params.items()
            ],
            "responses": {
                "200": {
                    "description": "the rows",
                    "content": _content(
                        {
                            "type": "object",
                            "properties": {"rows": {"type": "array", "items": {"type": "object"}}},
                            "required": ["rows"],
                        }
                    ),
                },
                **_errors(_READ_ERRORS),
            },
        }
    }


def build_openapi(
    collections: Iterable[Collection], queries: Iterable[NamedQuery], *, authenticated: bool
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of these collections and named queries."""
    schemas: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
            "required": ["type", "title", "status", "detail"],
        }
    }
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "The process answers",
                "security": [],
                "responses": {
                    "200": {"description": "up", "content": _content({"type": "object"})}
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "The instance can serve: its database (and Redis) answer",
                "security": [],
                "responses": {
                    "200": {"description": "ready", "content": _content({"type": "object"})},
                    **_errors([503]),
                },
            }
        },
    }
    for collection in collections:
        paths.update(_collection_paths(collection, schemas))
    for query in queries:
        paths[f"/v1/queries/{query.name}"] = _query_path(query)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "faasify data service", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if authenticated:
        document["components"]["securitySchemes"] = {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "bearer": {"type": "http", "scheme": "bearer"},
        }
        document["security"] = [{"apiKey": []}, {"bearer": []}]
    return document
