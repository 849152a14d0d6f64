"""Errors as RFC 9457 problem details: ``application/problem+json``.

Every refusal the service makes (bad input, missing credentials, a row that
is not yours, a database that is down) answers with the same small JSON
shape, so clients handle one format. Details never include SQL, stack traces
or another tenant's data.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

__all__ = ["Problem", "problem_response"]

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: Problem) -> JSONResponse:
    body = {
        "type": problem.kind,
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    return JSONResponse(
        body,
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json",
    )
