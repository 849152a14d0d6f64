"""One invocation, from its event to its answer on the Runtime API, and the work after.

A faasify handler's HTTP events take the same steps as
:class:`~faasify.core.RequestLoop` (codec decode, app, codec encode, one log
line, a 400 for a malformed event, a 500 for an app that raised), with two
differences that only a runtime loop of its own can make:

- the answer is posted as soon as the app has finished its body, and what
  the app does after that (background tasks, ``after_response`` calls, the
  WSGI iterable's ``close``) runs next, before the loop asks for the next
  invocation, within the time the invocation has left;
- in ``response-stream`` mode the body goes out as the app produces it
  (:class:`~faasify.adapters.aws.runtime.client.ResponseStream`): the prelude
  as soon as the head is known, a chunk per chunk the app sends.

Other events (SQS, EventBridge, ...) and handlers that are plain functions
are called as AWS's runtime calls them, and their result posted whole.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import traceback
from typing import TYPE_CHECKING, Any, Literal

from faasify._exceptions import InvalidRequestError, MalformedEventError
from faasify.adapters.aws.runtime.client import HTTP_INTEGRATION_CONTENT_TYPE, RuntimeAPIClient
from faasify.adapters.aws.runtime.errors import StreamBroken
from faasify.adapters.aws.runtime.invocation import Invocation, LambdaContext
from faasify.adapters.aws.runtime.prelude import http_prelude, result_parts
from faasify.core.http import BAD_REQUEST, INTERNAL_ERROR, Response
from faasify.core.log import (
    app_logger,
    invoke_logger,
    log_app_error,
    log_bad_event,
    log_internal_error,
    log_invoke,
)
from faasify.core.streaming import Stream, open_stream

if TYPE_CHECKING:
    from collections.abc import Callable

    from faasify.adapters.aws.handler import LambdaHandler

__all__ = [
    "AFTER_RESPONSE_MARGIN",
    "INVOKE_MODES",
    "STREAM_LIMIT",
    "InvokeMode",
    "Invoker",
    "error_body",
]

logger = logging.getLogger(__name__)

InvokeMode = Literal["buffered", "response-stream"]
#: As Function URLs name their invoke modes (BUFFERED, RESPONSE_STREAM).
INVOKE_MODES: tuple[InvokeMode, ...] = ("buffered", "response-stream")
#: A streamed response may be up to 200 MB (the Lambda developer guide,
#: "Response streaming for Lambda functions"); past it faasify ends the stream
#: itself, with an error trailer and a log line, rather than leave the cut to
#: Lambda.
STREAM_LIMIT = 200 * 1024 * 1024
#: Seconds kept back from the invocation's deadline when the work after the
#: response runs: the loop must be back at ``next`` before Lambda's timeout.
AFTER_RESPONSE_MARGIN = 0.2
_INFO = logging.INFO


def error_body(exc: BaseException, request_id: str | None = None) -> dict[str, Any]:
    """The error document the Runtime API takes (as AWS's Python runtime writes it),
    its trace from the first frame of the handler's code on."""
    from faasify.cli._target import user_traceback

    body: dict[str, Any] = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": user_traceback(exc),
    }
    if request_id:
        body["requestId"] = request_id
    return body


def _trace_variable(trace_id: str | None) -> None:
    # The X-Ray SDK reads the invocation's trace header from this variable, as
    # AWS's runtime sets it per invocation; a process runs one invocation at a
    # time here, Lambda Managed Instances included (a process per request).
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)


class Invoker:
    """Runs each invocation for ``target`` and answers it through ``client``.

    ``target`` is a faasify handler (:class:`~faasify.LambdaHandler`) or any
    ``(event, context)`` function. ``mode`` is the function's invoke mode;
    ``stream_limit`` the most bytes a streamed body may have.
    """

    def __init__(
        self,
        target: Callable[[Any, Any], Any],
        client: RuntimeAPIClient,
        *,
        mode: InvokeMode = "buffered",
        stream_limit: int = STREAM_LIMIT,
    ) -> None:
        from faasify.adapters.aws.handler import LambdaHandler

        self._target = target
        self._client = client
        self._stream = mode == "response-stream"
        self._limit = stream_limit
        self._handler: LambdaHandler | None = None
        self._cold = True
        if isinstance(target, LambdaHandler):
            self._handler = target
            # The handler's own per-event detection (a few dict lookups).
            self._detect = target._codecs.detect

    def __call__(self, invocation: Invocation) -> None:
        _trace_variable(invocation.trace_id)
        try:
            context = LambdaContext(invocation)
            event = json.loads(invocation.body)
        except ValueError as exc:
            # What AWS's Python runtime reports for an event or a context
            # header it cannot read (Runtime.UnmarshalError and friends).
            self._client.fail(
                invocation,
                {"errorMessage": str(exc), "errorType": "Runtime.UnmarshalError", "stackTrace": []},
            )
            return
        handler = self._handler
        if handler is not None:
            codec = self._detect(event)
            if codec is not None:
                self._serve_http(invocation, handler, codec, event, context)
                return
        self._call(invocation, event, context)

    # -- plain calls: records, warm-up pings, (event, context) functions --------------

    def _call(self, invocation: Invocation, event: Any, context: LambdaContext) -> None:
        client = self._client
        try:
            result = self._target(event, context)
            payload = json.dumps(result).encode()
        except Exception as exc:
            logger.error(
                "the handler raised (request %s):\n%s",
                invocation.request_id,
                "".join(traceback.format_exception(exc)).rstrip(),
            )
            client.fail(invocation, error_body(exc, invocation.request_id))
        else:
            parts = result_parts(result) if self._stream and isinstance(result, dict) else None
            if parts is None:
                client.respond(invocation, payload)
            else:
                self._stream_whole(invocation, parts[0] + parts[1])
        finally:
            self._after_invoke()

    # -- HTTP events of a faasify handler --------------------------------------------------

    def _serve_http(
        self,
        invocation: Invocation,
        handler: LambdaHandler,
        codec: Any,
        event: Any,
        context: LambdaContext,
    ) -> None:
        logging_on = invoke_logger.isEnabledFor(_INFO)
        started = time.perf_counter()
        hosted = handler.hosted
        # A SIGTERM from here to the end of the work after the response waits
        # for it (the instance counts invokes under way).
        hosted.instance.invoking += 1
        source = codec.source
        stream: Stream | None = None
        answer: Response | None = None
        request = None
        try:
            request = codec.decode(event, context)
        except MalformedEventError as exc:
            log_bad_event(context, source, exc)
            answer = BAD_REQUEST
        except Exception as exc:
            log_internal_error(context, source, "decode", exc)
            answer = INTERNAL_ERROR
        else:
            stream = open_stream(
                hosted,
                request,
                buffered=not self._stream,
                extra={"faasify.tenant_id": context.tenant_id},
                source=source,
            )
            try:
                stream.start()
            except InvalidRequestError as exc:
                log_bad_event(context, source, exc)
                answer = BAD_REQUEST
            except Exception as exc:
                _log_app_error(context, source, request, exc)
                answer = INTERNAL_ERROR
        status = 500
        try:
            if self._stream:
                status = self._stream_http(invocation, request, source, context, stream, answer)
            else:
                status = self._post_buffered(
                    invocation, request, source, codec, event, context, stream, answer
                )
        finally:
            posted = time.perf_counter()
            handler.invocations += 1
            cold, self._cold = self._cold, False
            if logging_on:
                log_invoke(
                    context=context,
                    source=source,
                    method=None if request is None else request.method,
                    path=None if request is None else request.root_path + request.path,
                    status=status,
                    duration_ms=(posted - started) * 1000,
                    cold=cold,
                    init_ms=hosted.init_seconds * 1000,
                )
            if stream is not None:
                stream.finish(invocation.remaining_seconds() - AFTER_RESPONSE_MARGIN)
                if logging_on:
                    invoke_logger.info(
                        json.dumps(
                            {
                                "message": "after response",
                                "request_id": invocation.request_id,
                                "duration_ms": round((time.perf_counter() - posted) * 1000, 3),
                            }
                        )
                    )
            hosted.instance.invoking -= 1
            self._after_invoke()

    def _post_buffered(
        self,
        invocation: Invocation,
        request: Any,
        source: str,
        codec: Any,
        event: Any,
        context: LambdaContext,
        stream: Stream | None,
        answer: Response | None,
    ) -> int:
        if answer is None:
            assert stream is not None
            try:
                body = stream.ready() + b"".join(stream.chunks())
            except Exception as exc:
                _log_app_error(context, source, request, exc)
                answer = INTERNAL_ERROR
            else:
                answer = Response(stream.status, stream.headers, body)
        try:
            result = codec.encode(answer, event, context)
        except Exception as exc:
            log_internal_error(context, source, "encode", exc)
            answer = INTERNAL_ERROR
            result = codec.encode(answer, event, context)
        self._client.respond(invocation, json.dumps(result).encode())
        return answer.status

    def _stream_whole(self, invocation: Invocation, data: bytes) -> None:
        response = self._client.open_stream(invocation, HTTP_INTEGRATION_CONTENT_TYPE)
        try:
            response.write(data)
            response.end()
        except StreamBroken as exc:
            logger.warning("request %s: %s", invocation.request_id, exc)

    def _stream_http(
        self,
        invocation: Invocation,
        request: Any,
        source: str,
        context: LambdaContext,
        stream: Stream | None,
        answer: Response | None,
    ) -> int:
        if answer is not None:
            # The app failed before its head: a whole error response, streamed.
            head = http_prelude(answer.status, answer.headers)
            self._stream_whole(invocation, head + answer.body)
            return answer.status
        assert stream is not None
        limit = self._limit
        response = self._client.open_stream(invocation, HTTP_INTEGRATION_CONTENT_TYPE)
        try:
            response.write(http_prelude(stream.status, stream.headers) + stream.ready())
            for chunk in stream.chunks():
                if response.bytes_sent + len(chunk) > limit:
                    stream.abort()
                    _log_stream_event(context, "streamed response over its size limit", limit)
                    response.fail(
                        "Function.ResponseSizeTooLarge",
                        {
                            "errorType": "Function.ResponseSizeTooLarge",
                            "errorMessage": f"the streamed response passed {limit} bytes",
                        },
                    )
                    return stream.status
                response.write(chunk)
        except StreamBroken as exc:
            # The Runtime API's end closed: whoever read the stream went away.
            stream.abort()
            _log_stream_event(context, "stream reader went away", None, str(exc))
            return stream.status
        except Exception as exc:
            # The app raised mid-stream: the head is out, so the client gets a
            # body cut short, and Lambda the error in the trailers.
            _log_app_error(context, source, request, exc)
            with contextlib.suppress(StreamBroken):
                response.fail(
                    type(exc).__name__,
                    {
                        "errorType": type(exc).__name__,
                        "errorMessage": "the app raised mid-stream; see the function's log",
                    },
                )
            return stream.status
        try:
            response.end()
        except StreamBroken as exc:
            _log_stream_event(context, "stream reader went away", None, str(exc))
        return stream.status

    def _after_invoke(self) -> None:
        handler = self._handler
        if handler is not None:
            instance = handler.hosted.instance
            if instance.signal_pending:
                instance.after_invoke()


def _log_app_error(context: LambdaContext, source: str, request: Any, exc: Exception) -> None:
    log_app_error(context, source, request.method, request.root_path + request.path, exc)


def _log_stream_event(
    context: LambdaContext, message: str, limit: int | None, error: str | None = None
) -> None:
    record: dict[str, Any] = {"message": message, "request_id": context.aws_request_id}
    if limit is not None:
        record["limit_bytes"] = limit
    if error is not None:
        record["error"] = error
    app_logger.warning(json.dumps(record))
