"""The Lambda Runtime API over the standard library's ``http.client``.

Every call the loop makes, as the Runtime API reference names them
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): ``next``,
``response``, ``error``, ``init/error``, and SnapStart's ``restore/next`` and
``restore/error``. Calls share one keep-alive connection; a streamed
response gets a connection of its own (:class:`ResponseStream`), closed once
the response is written, as the custom-runtime guide asks ("Close the
underlying connection after it has successfully written the response":
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-response-streaming).

What the answers mean (the reference's status codes): 202 accepted; 410 the
invocation is gone (it timed out, or its invocation id is stale), which the
loop logs and moves on from, as AWS's .NET runtime does (aws-lambda-dotnet PR
#2508); 413 a buffered payload over 6 MB; 500 the environment is broken, so the
runtime must exit (:class:`RuntimeAPIError`).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
from typing import Any
from urllib.parse import quote

from faasify._version import __version__
from faasify.adapters.aws.runtime.errors import RuntimeAPIError, StreamBroken
from faasify.adapters.aws.runtime.invocation import Invocation

__all__ = [
    "ERROR_BODY_TRAILER",
    "ERROR_TYPE_HEADER",
    "HTTP_INTEGRATION_CONTENT_TYPE",
    "ResponseStream",
    "RuntimeAPIClient",
]

logger = logging.getLogger(__name__)

_BASE = "/2018-06-01/runtime"
#: Names the kind of an error posted to /error, /init/error and /restore/error,
#: and, as a trailer, of an error that ends a streamed response.
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
#: The trailer that carries a mid-stream error's body, base64-encoded JSON.
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
#: The streamed body starts with a JSON prelude (status, headers, cookies) and
#: eight NUL bytes: AWS's Node.js runtime, HttpResponseStream.from
#: (aws-lambda-nodejs-runtime-interface-client, src/stream/http-response-stream.ts).
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
_INVOCATION_ID = "Lambda-Runtime-Invocation-Id"
_USER_AGENT = f"faasify/{__version__}"
# Header lines of a streamed response, in the order AWS's Node.js runtime sends
# them (src/stream/response-stream.ts, makeResponseStreamHeaders): the mode,
# the trailers it may end with, the content type, chunked framing.
_STREAM_HEADERS = (
    ("Lambda-Runtime-Function-Response-Mode", "streaming"),
    ("Trailer", f"{ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}"),
)


def _connect(address: str) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection(address)
    connection.connect()
    assert connection.sock is not None
    # Small writes (a prelude, an SSE event) go out at once, not after the
    # peer's delayed ACK.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


class RuntimeAPIClient:
    """The Runtime API at ``address`` (``AWS_LAMBDA_RUNTIME_API``: ``host:port``)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._connection: http.client.HTTPConnection | None = None

    # -- the connection ----------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        head = {"User-Agent": _USER_AGENT, **(headers or {})}
        for attempt in (1, 2):
            connection = self._connection
            if connection is None:
                connection = self._connection = _connect(self.address)
            try:
                connection.request(method, _BASE + path, body=body, headers=head)
                response = connection.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException):
                # The server closed the kept-alive connection between calls:
                # once more on a new one.
                connection.close()
                self._connection = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                connection.close()
                self._connection = None
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the kept-alive connection (a forked process must not share it)."""
        if self._connection is not None:
            sock = self._connection.sock
            self._connection.sock = None
            if sock is not None:
                sock.detach()  # the fd stays the parent's: no FIN sent from here
            self._connection = None

    def _settle(self, what: str, status: int, body: bytes) -> int:
        if status == 202 or status == 200:
            return status
        text = body[:300].decode(errors="replace")
        if status >= 500:
            raise RuntimeAPIError(
                f"the Runtime API answered {status} to {what}: {text}", status=status
            )
        if status == 410:
            logger.warning("%s: the invocation is gone (timed out or stale): %s", what, text)
        else:
            logger.error("the Runtime API refused %s with %d: %s", what, status, text)
        return status

    # -- the calls -----------------------------------------------------------------

    def next(self) -> Invocation:
        """Wait for the next invocation (a long poll: no timeout, as the reference asks)."""
        status, headers, body = self._call("GET", "/invocation/next")
        if status != 200:
            raise RuntimeAPIError(
                f"the Runtime API answered {status} to next: {body[:300]!r}", status=status
            )
        return Invocation(headers, body)

    def _invocation_headers(self, invocation: Invocation) -> dict[str, str]:
        if invocation.invocation_id:
            return {_INVOCATION_ID: invocation.invocation_id}
        return {}

    def respond(
        self, invocation: Invocation, payload: bytes, content_type: str = "application/json"
    ) -> int:
        """Post the invocation's whole answer; the Runtime API's status."""
        headers = self._invocation_headers(invocation)
        headers["Content-Type"] = content_type
        path = f"/invocation/{quote(invocation.request_id, safe='')}/response"
        status, _, body = self._call("POST", path, payload, headers)
        return self._settle("the response", status, body)

    def fail(self, invocation: Invocation, error: dict[str, Any]) -> int:
        """Post the invocation's error (``errorType``, ``errorMessage``, ``stackTrace``)."""
        headers = self._invocation_headers(invocation)
        headers[ERROR_TYPE_HEADER] = str(error.get("errorType") or "Unhandled")
        headers["Content-Type"] = "application/json"
        status, _, body = self._call(
            "POST",
            f"/invocation/{quote(invocation.request_id, safe='')}/error",
            json.dumps(error).encode(),
            headers,
        )
        return self._settle("the error", status, body)

    def init_error(self, error: dict[str, Any], error_type: str | None = None) -> int:
        """Report that the init phase failed (the runtime exits after it)."""
        headers = {
            ERROR_TYPE_HEADER: error_type or str(error.get("errorType") or "Runtime.InitError"),
            "Content-Type": "application/json",
        }
        status, _, body = self._call("POST", "/init/error", json.dumps(error).encode(), headers)
        if status == 403:
            # Several workers of one environment (Lambda Managed Instances) may
            # each fail their init; the Runtime API takes the first report.
            return status
        return self._settle("the init error", status, body)

    def restore_next(self) -> None:
        """SnapStart: wait here while Lambda takes the snapshot; returns once restored.

        (Custom runtimes and SnapStart:
        https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-custom.html)
        """
        status, _, body = self._call("GET", "/restore/next")
        if status != 200:
            raise RuntimeAPIError(
                f"the Runtime API answered {status} to restore/next: {body[:300]!r}",
                status=status,
            )

    def restore_error(
        self, error: dict[str, Any], error_type: str = "Runtime.AfterRestoreError"
    ) -> int:
        """Report that the after-restore hooks failed (the runtime exits after it)."""
        headers = {ERROR_TYPE_HEADER: error_type, "Content-Type": "application/json"}
        status, _, body = self._call("POST", "/restore/error", json.dumps(error).encode(), headers)
        return self._settle("the restore error", status, body)

    def open_stream(self, invocation: Invocation, content_type: str) -> ResponseStream:
        """Start a streamed answer to ``invocation`` (its body written as produced)."""
        return ResponseStream(self.address, invocation, content_type)


class ResponseStream:
    """A response posted with chunked transfer encoding, a chunk per write.

    The request is what the custom-runtime guide describes and AWS's clients
    send (Node.js: src/stream/response-stream.ts; Rust: lambda-runtime
    src/requests.rs, EventCompletionRequest): ``POST
    /runtime/invocation/{id}/response`` with ``Lambda-Runtime-Function-Response-Mode:
    streaming``, ``Trailer: Lambda-Runtime-Function-Error-Type,
    Lambda-Runtime-Function-Error-Body``, the content type and
    ``Transfer-Encoding: chunked``; the invocation id echoed when Lambda sent
    one. It ends with the zero-length chunk (:meth:`end`), or, for an error
    mid-stream, with the zero-length chunk and the two trailers, the body
    base64-encoded JSON (:meth:`fail`; Node.js: ``hookWeakFailProps``).
    """

    def __init__(self, address: str, invocation: Invocation, content_type: str) -> None:
        self.bytes_sent = 0
        self._connection = connection = _connect(address)
        self._sock = connection.sock
        self._done = False
        connection.putrequest(
            "POST",
            f"{_BASE}/invocation/{quote(invocation.request_id, safe='')}/response",
            skip_accept_encoding=True,
        )
        connection.putheader("User-Agent", _USER_AGENT)
        for name, value in _STREAM_HEADERS:
            connection.putheader(name, value)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Transfer-Encoding", "chunked")
        if invocation.invocation_id:
            connection.putheader(_INVOCATION_ID, invocation.invocation_id)
        try:
            connection.endheaders()
        except OSError as exc:
            connection.close()
            raise StreamBroken(f"the streamed response could not start: {exc}") from exc

    def write(self, data: bytes) -> None:
        """Send ``data`` as one chunk now (nothing for empty data: that would end the body)."""
        if not data:
            return
        size = len(data)
        sock = self._sock
        assert sock is not None
        try:
            if size <= 65536:
                sock.sendall(b"%x\r\n%b\r\n" % (size, data))
            else:
                # Large chunks are not copied into one buffer with their framing.
                sock.sendall(b"%x\r\n" % size)
                sock.sendall(data)
                sock.sendall(b"\r\n")
        except OSError as exc:
            self._abandon()
            raise StreamBroken(f"the streamed response's connection closed: {exc}") from exc
        self.bytes_sent += size

    def end(self) -> int:
        """End the body; the Runtime API's status."""
        return self._finish(b"0\r\n\r\n")

    def fail(self, error_type: str, error: dict[str, Any]) -> int:
        """End the body with the error trailers: the response stops short, with its reason."""
        encoded = base64.b64encode(json.dumps(error).encode()).decode("ascii")
        trailers = (
            f"0\r\n{ERROR_TYPE_HEADER}: {error_type}\r\n{ERROR_BODY_TRAILER}: {encoded}\r\n\r\n"
        )
        return self._finish(trailers.encode("latin-1"))

    def _finish(self, last: bytes) -> int:
        if self._done:
            raise RuntimeAPIError("the streamed response already ended")
        self._done = True
        sock = self._sock
        assert sock is not None
        try:
            sock.sendall(last)
            response = self._connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._abandon()
            raise StreamBroken(f"the streamed response's connection closed: {exc}") from exc
        finally:
            self._connection.close()
        status = response.status
        if status >= 500:
            raise RuntimeAPIError(
                f"the Runtime API answered {status} to the streamed response: {body[:300]!r}",
                status=status,
            )
        if status == 410:
            logger.warning("the streamed response: the invocation is gone (timed out or stale)")
        elif status not in (200, 202):
            logger.error(
                "the Runtime API refused the streamed response with %d: %r", status, body[:300]
            )
        return status

    def _abandon(self) -> None:
        self._done = True
        self._connection.close()

    def close(self) -> None:
        """Drop the connection without ending the body (the response is cut short)."""
        if not self._done:
            self._abandon()
