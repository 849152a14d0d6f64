"""Lambda's Invoke API, as ``faasify local`` serves it: what an SDK or the CLI calls.

``POST /2015-03-31/functions/{name}/invocations`` with the event as the body,
and ``X-Amz-Invocation-Type`` saying how: ``RequestResponse`` (the default:
the function's result is the answer; a function error is a 200 with
``X-Amz-Function-Error: Unhandled`` and the error as the body, as on AWS),
``Event`` (asynchronous: 202 with an empty body once the queue holds the
event, see :mod:`faasify.local.async_invoke`) or ``DryRun`` (204). Any
function name reaches the one function this runtime serves. Refusals carry
Lambda's error names in ``X-Amzn-ErrorType``: a body that is not JSON is
``InvalidRequestContentException`` (400), an event too big for its
invocation type ``RequestTooLargeException`` (413), a queue that cannot take
the event ``ServiceException`` (503, with ``Retry-After``).
"""

from __future__ import annotations

import json
import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faasify._exceptions import QueueUnavailable
from faasify.local.async_invoke.dispatcher import AsyncInvoker, buffered
from faasify.local.async_invoke.records import error_payload
from faasify.local.runtime.request_log import LogFormat, log_request
from faasify.local.runtime.scaler import InvokeOutcome, Scaler

__all__ = ["INVOKE_PATH", "invoke_api_routes"]

INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
#: Lambda's payload limits: 6 MB for a synchronous invoke, 1 MB for an asynchronous one.
_SYNC_LIMIT = 6 * 1024 * 1024
_ASYNC_LIMIT = 1024 * 1024


def _refusal(status: int, kind: str, message: str, **headers: str) -> Response:
    body = json.dumps({"Type": "User" if status < 500 else "Service", "message": message})
    return Response(
        body,
        status,
        media_type="application/json",
        headers={"X-Amzn-ErrorType": kind, **headers},
    )


def _no_invoke(request_id: str, status: int, error: str | None) -> InvokeOutcome:
    return InvokeOutcome(request_id, status, None, error, None, False, None, 0.0, 0.0)


def invoke_api_routes(
    scaler: Scaler, invoker: AsyncInvoker, *, log_format: LogFormat = "text"
) -> list[Route]:
    """The Invoke API's route, answered by ``scaler`` (now) or ``invoker`` (later)."""

    async def invoke(request: Request) -> Response:
        kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
        method, path = request.method, request.url.path

        def logged(response: Response, outcome: InvokeOutcome) -> Response:
            log_request(method, path, response.status_code, outcome, log_format)
            return response

        request_id = str(uuid.uuid4())
        if kind not in ("RequestResponse", "Event", "DryRun"):
            message = f"X-Amz-Invocation-Type {kind!r}: use RequestResponse, Event or DryRun"
            return logged(
                _refusal(400, "InvalidParameterValueException", message),
                _no_invoke(request_id, 400, message),
            )
        body = await request.body()
        limit = _ASYNC_LIMIT if kind == "Event" else _SYNC_LIMIT
        if len(body) > limit:
            message = f"the event is {len(body)} bytes, over the {limit} an {kind} invoke takes"
            return logged(
                _refusal(413, "RequestTooLargeException", message),
                _no_invoke(request_id, 413, message),
            )
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            message = f"Could not parse request body into json: {exc}"
            return logged(
                _refusal(400, "InvalidRequestContentException", message),
                _no_invoke(request_id, 400, message),
            )
        if kind == "DryRun":
            return logged(Response(status_code=204), _no_invoke(request_id, 204, None))
        if kind == "Event":
            try:
                event = await invoker.accept(payload, "lambda", event_id=request_id)
            except QueueUnavailable as exc:
                return logged(
                    _refusal(503, "ServiceException", str(exc), **{"Retry-After": "1"}),
                    _no_invoke(request_id, 503, str(exc)),
                )
            response = Response(status_code=202, headers={"X-Amzn-RequestId": event.id})
            return logged(response, _no_invoke(event.id, 202, None))
        outcome = await buffered(await scaler.invoke(payload, label=f"{method} {path}"))
        if outcome.status == 429:
            return logged(
                _refusal(429, "TooManyRequestsException", "Rate Exceeded.", **{"Retry-After": "1"}),
                outcome,
            )
        headers = {"X-Amzn-RequestId": outcome.request_id, "X-Amz-Executed-Version": "$LATEST"}
        error = error_payload(outcome, scaler.timeout)
        if error is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
            return logged(
                Response(json.dumps(error), 200, headers, media_type="application/json"), outcome
            )
        answer = json.dumps(outcome.result)
        return logged(Response(answer, 200, headers, media_type="application/json"), outcome)

    return [Route(INVOKE_PATH, invoke, methods=["POST"])]
