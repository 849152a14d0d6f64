"""Streamed responses: the head as soon as the app has it, the body as produced,
then the app's work after the response.

The buffered runners (:mod:`faasify.core.runners`) hand back a whole
:class:`~faasify.core.http.Response` once the app has returned. A runtime that
can stream (AWS Lambda's response streaming) needs three moments instead, and
this module gives an ASGI or WSGI app's request those three:

1. :meth:`Stream.start` runs the app until its response head (status and
   headers) is known, which for both kinds is when the first body bytes come
   (or the body ends): an app that fails before that still gets a clean 500.
2. :meth:`Stream.chunks` yields the body as the app produces it. An ASGI app
   is held at each ``send`` until its chunk has been taken, so at most one
   chunk is in memory whatever the size of the download. :meth:`Stream.abort`
   ends it early (the receiving end went away): the app's next ``send`` raises
   ``OSError``, as ASGI 2.4 says a server's does, and its generator is closed.
3. :meth:`Stream.finish` runs what the app does after its response (Starlette's
   background tasks, which run after the last body message; the WSGI iterable's
   ``close``, where Werkzeug's ``call_on_close`` hooks run; and every function
   given to :func:`after_response`) within a budget of seconds. Work still
   running at the end of the budget is cancelled, with a log line; a failure
   is logged, never dropped.

Everything runs on the calling thread, on the instance's one loop for ASGI:
the caller decides what each moment means (write to a socket, buffer, post).
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import json
import logging
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from faasify._exceptions import (
    AppProtocolError,
    FaasifyError,
    IncompleteResponseError,
    InvalidRequestError,
)
from faasify.core.http import Request
from faasify.core.log import app_logger, log_app_error, request_id

if TYPE_CHECKING:
    # asyncio is imported where an ASGI app needs it: a WSGI app's instance
    # does not pay for it at cold start.
    import asyncio

    from faasify.core.hosted import HostedApp
    from faasify.core.types import ASGIApp, Message

__all__ = [
    "AfterResponse",
    "DeadlineExceeded",
    "Stream",
    "after_response",
    "open_stream",
]

logger = logging.getLogger(__name__)

# Spec 2.4: a send after the client went away raises OSError, so frameworks
# (Starlette's StreamingResponse among them) need no task listening for the
# disconnect; they stop their generator when send raises.
_ASGI = {"version": "3.0", "spec_version": "2.4"}
_DISCONNECT: Message = {"type": "http.disconnect"}


class DeadlineExceeded(FaasifyError):
    """Work after the response was still running when its time was up."""


# -- work after the response --------------------------------------------------------

_current: contextvars.ContextVar[AfterResponse | None] = contextvars.ContextVar(
    "faasify_after_response", default=None
)


class AfterResponse:
    """The functions one request registered to run once its response is out."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def add(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Run ``function(*args, **kwargs)`` after the response (a coroutine function too)."""
        if not callable(function):
            raise TypeError(f"after_response needs a function, not {function!r}")
        self._calls.append((function, args, kwargs))

    def __len__(self) -> int:
        return len(self._calls)

    def take(self) -> list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]:
        calls, self._calls = self._calls, []
        return calls


def after_response(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    """Run ``function(*args, **kwargs)`` once this request's response has been sent.

    Under ``faasify runtime`` the call happens after the answer is posted and
    before the next request, within the invocation's remaining time (a
    coroutine function is awaited on the instance's loop). Anywhere else
    (``faasify.handler`` with AWS's runtime client, ``faasify serve``) there is
    no moment after the response, so the function runs right away; either way
    a failure is logged, never raised into the request.

    WSGI apps also find this function in ``environ["faasify.after_response"]``.
    """
    registry = _current.get()
    if registry is not None:
        registry.add(function, *args, **kwargs)
        return
    started = time.monotonic()
    try:
        result = function(*args, **kwargs)
        if inspect.isawaitable(result):
            import asyncio

            from faasify.core.instance import current_instance

            loop = current_instance().loop
            if loop.is_running():
                # Inside the app's own coroutine: the loop cannot be driven
                # from here, so the work becomes a task of that loop.
                task = asyncio.ensure_future(result, loop=loop)
                task.add_done_callback(_log_task_failure)
            else:
                loop.run_until_complete(result)
    except Exception as exc:
        _log_after_failure(None, exc, (time.monotonic() - started) * 1000)


def _log_task_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log_after_failure(None, task.exception(), 0.0)  # type: ignore[arg-type]


# -- log lines ----------------------------------------------------------------------


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _log_after_failure(context: Any, exc: BaseException, elapsed_ms: float) -> None:
    app_logger.error(
        json.dumps(
            {
                "message": "work after the response failed",
                "request_id": request_id(context),
                "error": _error(exc),
                "elapsed_ms": round(elapsed_ms, 1),
                "traceback": "".join(traceback.format_exception(exc)),
            }
        )
    )


def _log_after_cancelled(context: Any, budget: float, what: str) -> None:
    app_logger.error(
        json.dumps(
            {
                "message": "work after the response cancelled at the deadline",
                "request_id": request_id(context),
                "budget_ms": round(budget * 1000, 1),
                "cancelled": what,
            }
        )
    )


# -- the interface --------------------------------------------------------------------


class Stream(Protocol):
    """One request's response in three moments (see the module docstring)."""

    status: int
    headers: list[tuple[str, str]]

    def start(self) -> None:
        """Run the app until the response head is known; raise what the app raised."""
        ...

    def ready(self) -> bytes:
        """The body bytes the app produced already, taken without running it further."""
        ...

    def chunks(self) -> Iterator[bytes]:
        """The rest of the body as produced; raises what the app raised mid-stream."""
        ...

    def abort(self) -> None:
        """The body's reader went away: stop the app and close its generator."""
        ...

    def finish(self, budget: float) -> None:
        """Run the work after the response within ``budget`` seconds."""
        ...


def open_stream(
    hosted: HostedApp,
    request: Request,
    *,
    buffered: bool = False,
    extra: dict[str, Any] | None = None,
    source: str = "unknown",
) -> Stream:
    """A :class:`Stream` of ``request`` through ``hosted``'s app.

    ``buffered`` says that the body will be read whole before it goes anywhere
    (a runtime in buffered mode that still wants the work after the response
    to wait): the ASGI app then runs to its last body message in one go.
    ``extra`` keys go into the ASGI scope and the WSGI environ as they are
    (``faasify.tenant_id``, say). ``source`` names the front door in log lines.
    """
    registry = AfterResponse()
    if hosted.kind == "asgi":
        return ASGIStream(
            hosted.app,
            hosted.loop,
            request,
            state=hosted.lifespan_state,
            registry=registry,
            buffered=buffered,
            extra=extra,
            source=source,
        )
    return WSGIStream(hosted.app, request, registry=registry, extra=extra)


# -- ASGI -------------------------------------------------------------------------------


def _scope_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    try:
        return [(name.encode(), value.encode()) for name, value in headers]
    except AttributeError:
        raise InvalidRequestError("header names and values must be strings") from None
    except UnicodeEncodeError:
        raise InvalidRequestError("a header holds bytes that are not text") from None


class ASGIStream:
    """An ASGI HTTP cycle whose response is taken a chunk at a time.

    The app runs as a task on the instance's loop; each moment drives the
    loop (``run_until_complete``) until what it waits for has happened, and
    the loop stands still in between, so nothing of the app runs while the
    caller writes a chunk out, nor before :meth:`finish` once the body ended.
    """

    def __init__(
        self,
        app: ASGIApp,
        loop: asyncio.AbstractEventLoop,
        request: Request,
        *,
        state: dict[str, Any] | None,
        registry: AfterResponse,
        buffered: bool = False,
        extra: dict[str, Any] | None = None,
        source: str = "unknown",
    ) -> None:
        self._app = app
        self._source = source
        self._loop = loop
        self._request = request
        self._registry = registry
        self._buffered = buffered
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        root_path = request.root_path
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.scheme,
            "path": root_path + request.path if root_path else request.path,
            "raw_path": request.raw_path,
            "root_path": root_path,
            "query_string": request.query_string,
            "headers": _scope_headers(request.headers),
            "client": request.client,
            "server": request.server,
            "extensions": {},
            "aws.event": request.event,
            "aws.context": request.context,
        }
        if extra:
            scope.update(extra)
        if state:
            scope["state"] = state.copy()
        self._scope = scope
        self._pending: deque[bytes] = deque()
        self._head = False  # the first body message arrived: status and headers are final
        self._complete = False  # the last body message arrived
        self._aborted = False
        self._read = False
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._taken: asyncio.Future[None] | None = None
        self._hold: asyncio.Future[None] | None = None
        self._ended: asyncio.Future[None] = loop.create_future()

    # -- the app's side --------------------------------------------------------------

    async def _receive(self) -> Message:
        import asyncio

        if not self._read:
            self._read = True
            return {"type": "http.request", "body": self._request.body, "more_body": False}
        await asyncio.shield(self._ended)
        return _DISCONNECT

    def _signal(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _send(self, message: Message) -> None:
        if self._aborted:
            raise OSError("the response's reader went away")
        kind = message["type"]
        if kind == "http.response.body":
            if not self.status:
                raise AppProtocolError("http.response.body sent before http.response.start")
            if self._complete:
                raise AppProtocolError("http.response.body sent after the last one")
            chunk = message.get("body") or b""
            more = message.get("more_body", False)
            if chunk:
                self._pending.append(bytes(chunk))
            first = not self._head
            self._head = True
            if not more:
                self._complete = True
                if not self._ended.done():
                    self._ended.set_result(None)
                # Held here until finish(): what the app does after its last
                # body message (Starlette's background tasks) waits for the
                # response to be out.
                self._hold = hold = self._loop.create_future()
                self._signal()
                await hold
            elif not self._buffered and (chunk or first):
                # Hold the app until this chunk is taken: one chunk in memory.
                self._taken = taken = self._loop.create_future()
                self._signal()
                await taken
        elif kind == "http.response.start":
            if self.status:
                raise AppProtocolError("http.response.start sent twice")
            self.status = int(message["status"])
            self.headers = [
                (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                for name, value in message.get("headers", ())
            ]
        else:
            raise AppProtocolError(f"unexpected ASGI message {kind!r} in an HTTP cycle")

    async def _main(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        finally:
            self._signal()

    # -- the caller's side ---------------------------------------------------------

    def _drive(self) -> None:
        """Run the loop until the app has something for the caller, or has ended."""
        task = self._task
        assert task is not None
        if task.done():
            return
        self._wake = wake = self._loop.create_future()
        self._loop.run_until_complete(wake)
        self._wake = None

    def _release(self) -> None:
        taken = self._taken
        if taken is not None and not taken.done():
            taken.set_result(None)
        self._taken = None

    def _raise_if_failed(self) -> None:
        task = self._task
        assert task is not None
        if task.done() and not task.cancelled():
            exc = task.exception()
            if exc is not None and not self._complete:
                raise exc

    def start(self) -> None:
        registry = self._registry
        token = _current.set(registry)
        try:
            # The task copies the context now: after_response calls made by the
            # app reach this request's registry, and no other's.
            self._task = self._loop.create_task(self._main())
        finally:
            _current.reset(token)
        while not self._head and not self._task.done():
            self._drive()
        if not self._head:
            self._raise_if_failed()
            raise IncompleteResponseError("the app returned without sending a response")
        if self._buffered:
            while not self._complete and not self._task.done():
                self._drive()

    def ready(self) -> bytes:
        pending = self._pending
        data = b"".join(pending) if len(pending) != 1 else pending[0]
        pending.clear()
        self._release()
        return data

    def chunks(self) -> Iterator[bytes]:
        pending = self._pending
        task = self._task
        assert task is not None
        while True:
            while pending:
                chunk = pending.popleft()
                if not pending:
                    self._release()
                yield chunk
            self._release()
            if self._complete or task.done():
                break
            self._drive()
        self._raise_if_failed()
        if not self._complete:
            raise IncompleteResponseError("the app returned before the end of its body")

    def abort(self) -> None:
        if self._complete:
            return  # the body is whole: what remains is finish()'s
        self._aborted = True
        if not self._ended.done():
            self._ended.set_result(None)
        taken = self._taken
        if taken is not None and not taken.done():
            taken.set_exception(OSError("the response's reader went away"))
            taken.exception()  # retrieved here, whether or not the app awaits it
        self._pending.clear()
        task = self._task
        if task is None:
            return
        # The app sees the OSError at its next send and unwinds; whatever
        # it does not finish in a moment is cancelled.
        self._settle(task, 1.0, release_frames=True)

    def _settle(
        self, task: asyncio.Task[None], budget: float, *, release_frames: bool = False
    ) -> bool:
        """Drive ``task`` for up to ``budget`` seconds; cancel it past that. True if it ended.

        ``release_frames`` lets go of the frames the task's exception holds:
        they keep the app's abandoned generator alive, and it is closed (its
        ``finally`` run) only once nothing refers to it.
        """
        import asyncio

        loop = self._loop
        if not task.done():
            loop.run_until_complete(asyncio.wait({task}, timeout=max(budget, 0.0)))
        ended = task.done()
        if not ended:
            task.cancel()
            loop.run_until_complete(asyncio.wait({task}, timeout=1.0))
        if release_frames and task.done() and not task.cancelled():
            _release_frames(task.exception())
        # A few more turns: an async generator the app dropped is closed by a
        # task that asyncio's finalizer hook schedules, which then has to run.
        for _ in range(3):
            loop.run_until_complete(asyncio.sleep(0))
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: reported by the caller, not by asyncio
        return ended

    def finish(self, budget: float) -> None:
        task = self._task
        if task is None:
            return
        started = time.monotonic()
        context = self._request.context
        hold = self._hold
        if hold is not None and not hold.done():
            hold.set_result(None)
        if not self._settle(task, budget):
            _log_after_cancelled(
                context, budget, _with_calls("the app's background work", self._registry)
            )
            return
        exc = None if task.cancelled() else task.exception()
        if exc is not None and self._complete:
            if self.status >= 500:
                # The app's own error page went out before the error was
                # raised again (Starlette's ServerErrorMiddleware does so).
                request = self._request
                path = request.root_path + request.path
                log_app_error(context, self._source, request.method, path, exc)
            else:
                # The response was whole; what failed ran after it (a background task).
                _log_after_failure(context, exc, (time.monotonic() - started) * 1000)
        left = budget - (time.monotonic() - started)
        run_after(self._registry, context, left, self._loop)


def _release_frames(exc: BaseException | None) -> None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if exc.__traceback__ is not None:
            traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


# -- WSGI -------------------------------------------------------------------------------


class WSGIStream:
    """A WSGI call whose iterable is read a chunk at a time.

    PEP 3333 lets an app call ``start_response`` late (a generator calls it on
    its first step) and change its mind (``exc_info``) until the first
    non-empty chunk, so the head is known once that chunk, or the end of the
    body, has come. The iterable's ``close`` runs in :meth:`finish`, after the
    response; that is where frameworks run their "on close" hooks.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        request: Request,
        *,
        registry: AfterResponse,
        extra: dict[str, Any] | None = None,
    ) -> None:
        from faasify.core.runners.wsgi import build_environ

        self._app = app
        self._request = request
        self._registry = registry
        environ = build_environ(request)
        environ["faasify.after_response"] = registry.add
        if extra:
            environ.update(extra)
        self._environ = environ
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self._started: list[Any] = []
        self._written: list[bytes] = []
        self._sent = False
        self._result: Iterable[bytes] | None = None
        self._iterator: Iterator[bytes] | None = None
        self._first: bytes = b""
        self._exhausted = False
        self._closed = False

    def _start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        if exc_info and self._sent:
            # PEP 3333: once the head is out, the error goes up, not into it.
            raise exc_info[1].with_traceback(exc_info[2])
        if self._started and not exc_info:
            raise AppProtocolError("start_response called twice without exc_info")
        self._started[:] = (status, headers)
        return self._written.append

    def start(self) -> None:
        token = _current.set(self._registry)
        try:
            result = self._app(self._environ, self._start_response)
            self._result = result
            iterator = iter(result)
            self._iterator = iterator
            for chunk in iterator:
                if chunk:
                    self._first = bytes(chunk)
                    break
            else:
                self._exhausted = True
        except BaseException:
            self._close_result()
            raise
        finally:
            _current.reset(token)
        if not self._started:
            self._close_result()
            raise IncompleteResponseError("the WSGI app returned without calling start_response")
        status, headers = self._started
        try:
            self.status = int(status[:3])
        except ValueError:
            self._close_result()
            raise AppProtocolError(f"the WSGI app answered with a status of {status!r}") from None
        self.headers = list(headers)
        self._sent = True

    def ready(self) -> bytes:
        written = self._written
        data = b"".join(written) + self._first if written else self._first
        written.clear()
        self._first = b""
        return data

    def chunks(self) -> Iterator[bytes]:
        written = self._written
        if written:
            yield b"".join(written)
            written.clear()
        if self._first:
            yield self._first
            self._first = b""
        if self._exhausted:
            return
        iterator = self._iterator
        assert iterator is not None
        token = _current.set(self._registry)
        try:
            for chunk in iterator:
                if written:
                    yield b"".join(written)
                    written.clear()
                if chunk:
                    yield bytes(chunk)
        finally:
            _current.reset(token)
        if written:
            yield b"".join(written)
            written.clear()

    def _close_result(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._result, "close", None)
        if close is not None:
            close()

    def abort(self) -> None:
        # A generator's close raises GeneratorExit at its yield: it stops there.
        try:
            self._close_result()
        except Exception as exc:
            _log_after_failure(self._request.context, exc, 0.0)

    def finish(self, budget: float) -> None:
        started = time.monotonic()
        context = self._request.context
        try:
            with _deadline(budget):
                self._close_result()
        except DeadlineExceeded:
            _log_after_cancelled(
                context, budget, _with_calls("the WSGI iterable's close", self._registry)
            )
            return
        except Exception as exc:
            _log_after_failure(context, exc, (time.monotonic() - started) * 1000)
        run_after(self._registry, context, budget - (time.monotonic() - started), None)


def _with_calls(what: str, registry: AfterResponse) -> str:
    """``what``, and the after_response calls the deadline leaves unrun, if any."""
    left = len(registry.take())
    return f"{what} and {left} after_response call(s)" if left else what


# -- running what after_response registered --------------------------------------------


def run_after(
    registry: AfterResponse,
    context: Any,
    budget: float,
    loop: asyncio.AbstractEventLoop | None,
) -> None:
    """Call each registered function in order, within ``budget`` seconds in all.

    A coroutine function is awaited on ``loop`` (the instance's), cancelled at
    the deadline; a plain function is interrupted at the deadline where the
    platform allows it (a timer signal in the main thread). What the deadline
    cuts off is logged once, with how many calls were left.
    """
    deadline = time.monotonic() + budget
    calls = registry.take()
    if not calls:
        return
    import asyncio

    for index, (function, args, kwargs) in enumerate(calls):
        left = deadline - time.monotonic()
        if left <= 0:
            _log_after_cancelled(context, budget, f"{len(calls) - index} after_response call(s)")
            return
        started = time.monotonic()
        try:
            with _deadline(left):
                result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                run_loop = loop
                if run_loop is None:
                    from faasify.core.instance import current_instance

                    run_loop = current_instance().loop
                run_loop.run_until_complete(
                    asyncio.wait_for(result, max(0.0, deadline - time.monotonic()))
                )
        except (DeadlineExceeded, asyncio.TimeoutError):
            _log_after_cancelled(context, budget, f"{len(calls) - index} after_response call(s)")
            return
        except Exception as exc:
            _log_after_failure(context, exc, (time.monotonic() - started) * 1000)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`DeadlineExceeded` in this (main) thread after ``seconds``.

    Only the main thread receives signals; elsewhere, and where there is no
    interval timer, the code runs to its end, unbounded.
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise DeadlineExceeded(f"ran past its {seconds:.3f}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
