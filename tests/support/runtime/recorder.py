"""A Lambda Runtime API for the tests that records exactly what a runtime sends.

It reads HTTP/1.1 off the socket itself (no HTTP library between the runtime
and the record), so a test sees every request line, every header as written
(names with their case, in order), and of a chunked body every chunk: its
size, its bytes, when it arrived, and the trailers after the last one.

Invocations are queued with :meth:`RecordingRuntimeAPI.invoke`; ``next`` calls
wait for one. :meth:`RecordingRuntimeAPI.stop` answers the next ``next`` with
a 500, after which a runtime must exit, which ends a test's runtime process.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_BASE = "/2018-06-01/runtime"


@dataclass
class Chunk:
    size: int
    data: bytes
    at: float  # time.monotonic() when its last byte arrived


@dataclass
class Recorded:
    """One request as it came off the wire."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunks: list[Chunk] | None = None  # for a chunked body
    trailers: list[tuple[str, str]] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    complete: bool = True  # False: the connection ended before the body did

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def trailer(self, name: str) -> str | None:
        for key, value in self.trailers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def data(self) -> bytes:
        return b"".join(c.data for c in self.chunks) if self.chunks is not None else self.body


@dataclass
class Queued:
    event: Any
    request_id: str
    headers: dict[str, str]


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buffer += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


class RecordingRuntimeAPI:
    """The server; ``address`` goes into the runtime's ``AWS_LAMBDA_RUNTIME_API``."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.requests: list[Recorded] = []
        self._queue: queue.Queue[Queued | None] = queue.Queue()
        self._changed = threading.Condition()
        #: Called with each chunk of a streamed body as it arrives (the
        #: request so far, the chunk); a test uses it to act mid-stream.
        self.on_chunk: Callable[[Recorded, Chunk], None] | None = None
        #: Called with each request once it has been read, before it is answered.
        self.on_request: Callable[[Recorded], None] | None = None
        #: Close the connection of a streamed response after this many chunks.
        self.drop_stream_after: int | None = None
        #: The status posts get, by path suffix ("response", "error", ...).
        self.statuses: dict[str, int] = {}
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- what a test does -----------------------------------------------------------

    def invoke(
        self,
        event: Any,
        *,
        deadline_in: float = 30.0,
        request_id: str | None = None,
        **headers: str,
    ) -> str:
        """Queue an invocation; its request id. ``headers`` go on its ``next`` answer
        (``tenant_id=...`` becomes ``Lambda-Runtime-Aws-Tenant-Id``, and so on)."""
        request_id = request_id or str(uuid.uuid4())
        head = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + deadline_in) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:1:function:test",
            "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
        }
        names = {
            "tenant_id": "Lambda-Runtime-Aws-Tenant-Id",
            "invocation_id": "Lambda-Runtime-Invocation-Id",
            "client_context": "Lambda-Runtime-Client-Context",
        }
        for key, value in headers.items():
            head[names.get(key, key)] = value
        self._queue.put(Queued(event, request_id, head))
        return request_id

    def stop(self) -> None:
        """The next ``next`` gets a 500: the runtime must exit."""
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[list[Recorded]], Any], timeout: float = 30.0) -> Any:
        """Block until ``predicate(requests)`` is true (returns it); fails past ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate(self.requests)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    summary = [(r.method, r.path, r.complete) for r in self.requests]
                    raise AssertionError(f"no such request within {timeout:g}s: {summary}")
                self._changed.wait(left)

    def posts(self, request_id: str) -> list[Recorded]:
        prefix = f"{_BASE}/invocation/{request_id}/"
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(prefix)]

    def answer(self, request_id: str, timeout: float = 30.0) -> Recorded:
        """The finished post that answered ``request_id`` (response or error)."""
        answers: list[Recorded] = self.wait_for(
            lambda _: [r for r in self.posts(request_id) if r.ended], timeout
        )
        return answers[0]

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    # -- the server ---------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _record(self, request: Recorded) -> None:
        with self._changed:
            if request not in self.requests:
                self.requests.append(request)
            self._changed.notify_all()

    def _serve(self, sock: socket.socket) -> None:
        reader = _Reader(sock)
        try:
            while True:
                keep = self._one(reader)
                if not keep:
                    return
        except (EOFError, OSError):
            return
        finally:
            sock.close()

    def _one(self, reader: _Reader) -> bool:
        request_line = reader.line().decode("latin-1")
        method, path, _ = request_line.split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            line = reader.line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        request = Recorded(method, path, headers, started=time.monotonic())
        chunked = (request.header("Transfer-Encoding") or "").lower() == "chunked"
        if chunked:
            request.chunks = []
            request.complete = False
            self._record(request)
            if not self._read_chunks(reader, request):
                request.ended = time.monotonic()
                self._record(request)
                return False
        else:
            length = int(request.header("Content-Length") or 0)
            request.body = reader.exactly(length) if length else b""
        request.ended = time.monotonic()
        request.complete = True
        if self.on_request is not None:
            self.on_request(request)
        self._record(request)
        return self._respond(reader.sock, request)

    def _read_chunks(self, reader: _Reader, request: Recorded) -> bool:
        assert request.chunks is not None
        while True:
            size = int(reader.line().split(b";", 1)[0], 16)
            if size == 0:
                while True:
                    line = reader.line()
                    if not line:
                        return True
                    name, _, value = line.decode("latin-1").partition(":")
                    request.trailers.append((name, value.strip()))
            data = reader.exactly(size)
            if reader.exactly(2) != b"\r\n":
                raise EOFError
            chunk = Chunk(size, data, time.monotonic())
            request.chunks.append(chunk)
            self._record(request)
            if self.on_chunk is not None:
                self.on_chunk(request, chunk)
            drop = self.drop_stream_after
            if drop is not None and len(request.chunks) >= drop:
                reader.sock.shutdown(socket.SHUT_RDWR)
                return False

    def _send(
        self, sock: socket.socket, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        reason = {200: "OK", 202: "Accepted", 410: "Gone", 500: "Internal Server Error"}.get(
            status, "Status"
        )
        head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def _respond(self, sock: socket.socket, request: Recorded) -> bool:
        path = request.path
        if request.method == "GET" and path == f"{_BASE}/invocation/next":
            queued = self._queue.get()
            if queued is None:
                self._send(sock, 500, b'{"errorMessage":"stopping"}')
                return False
            headers = {"Content-Type": "application/json", **queued.headers}
            self._send(sock, 200, json.dumps(queued.event).encode(), headers)
            return True
        if request.method == "GET" and path == f"{_BASE}/restore/next":
            self._send(sock, 200, b"")
            return True
        kind = path.rsplit("/", 1)[-1]
        self._send(sock, self.statuses.get(kind, 202), b'{"status":"OK"}')
        # A streamed response's connection is the runtime's to close.
        return request.chunks is None
