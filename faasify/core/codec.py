"""The interfaces a front door implements for the request loop: a codec, and an executor.

The loop only calls the methods, whatever class provides them, so this module
is loaded only where the types are named (type checkers, ``faasify.core.Codec``),
not on the way to a warm invoke.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from faasify.core.http import Request, Response

__all__ = ["Codec", "Executor"]

_T = TypeVar("_T")


class Codec(Protocol):
    """Translates one front door's events to :class:`Request` and back.

    A codec is built once per handler (at cold start), with whatever options
    the front door has; it keeps no per-request state, so one instance serves
    every request, from any thread.
    """

    @property
    def source(self) -> str:
        """The front door's name, as it appears in log lines."""
        ...

    def decode(self, event: Any, context: Any) -> Request:
        """The request the event carries; :class:`MalformedEventError` if it cannot be read."""
        ...

    def encode(self, response: Response, event: Any, context: Any) -> Any:
        """What the host expects back for ``response`` to the request in ``event``."""
        ...

    # Optional, and so not part of the protocol's checked surface:
    # ``wsgi_environ() -> Callable[[event, context], WSGIEnviron | None]``, a
    # builder of a WSGI app's environ straight from the event, returning None
    # for whatever it leaves to decode (see RequestLoop and docs/architecture.md).


class Executor(Protocol):
    """Where the app runs: called with a function and its arguments, returns its result.

    For a host that calls the function inside a running event loop of its own
    (the Fn fdk), the app runs on a thread of faasify's instead.
    """

    def __call__(self, function: Callable[..., _T], /, *args: Any) -> _T: ...
