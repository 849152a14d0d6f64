"""Errors as RFC 9457 problem details: ``application/problem+json``.

Every refusal the service makes (bad input, missing credentials, a row that
is not yours, a database that is down, an unknown route) answers with the same
small JSON shape, so clients handle one format. Details never include SQL,
stack traces or another tenant's data.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from faasify.baas.errors import Problem
from faasify.baas.responses import json_response

__all__ = ["Problem", "http_error_handler", "problem_response"]

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_response(problem: Problem) -> Response:
    body = {
        "type": problem.kind,
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    return json_response(
        body, problem.status, problem.headers, media_type="application/problem+json"
    )


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed) as problems too."""
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    detail = {404: "no such route", 405: f"{request.method} is not allowed here"}.get(
        exc.status_code, str(exc.detail)
    )
    return problem_response(Problem(exc.status_code, detail, headers=dict(exc.headers or {})))
