"""What a database error means for the request: the database is out of reach,
the caller sent a value it cannot hold, the change conflicts, or try again.

The answer decides the HTTP status and whether the circuit breaker counts a
failure: only "down" does. A constraint violation or a bad value means the
database answered; a timeout means it did not (a partition and a stranded
connection look alike from here). Works on asyncpg's errors, SQLAlchemy's
wrappers of any driver's, and the socket errors under both.
"""

from __future__ import annotations

import asyncio
from typing import Literal

__all__ = ["Fault", "classify", "describe"]

#: down: no usable server (breaker failure, 503); bad_value: the caller's value
#: (422); conflict: a constraint (409); retry: a transient refusal such as a
#: deadlock (503, no breaker failure); other: a bug or a configuration error (500).
Fault = Literal["down", "bad_value", "conflict", "retry", "other"]

# Connection exceptions (class 08), shutdown and crash (57P01-57P03, what
# pg_terminate_backend sends), a statement cancelled after its timeout (57014),
# too many connections (53300).
_DOWN_STATES = frozenset({"57P01", "57P02", "57P03", "57014", "53300"})
_DOWN_NAMES = frozenset(
    {"ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError", "ConnectionError"}
)


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        if candidate is None:
            continue
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
        cause = getattr(candidate, "__cause__", None)
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def classify(exc: BaseException) -> Fault:
    """What ``exc``, raised while using the database, means for the request."""
    from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, PoolTimeout)):
        return "down"
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "down"
    if isinstance(exc, IntegrityError):
        return "conflict"
    state = _sqlstate(exc)
    if state is not None:
        if state.startswith("08") or state in _DOWN_STATES:
            return "down"
        if state.startswith("23"):
            return "conflict"
        if state.startswith("22"):
            return "bad_value"
        if state.startswith("40") or state == "55P03":
            return "retry"
    if isinstance(exc, DataError) or isinstance(getattr(exc, "orig", None), OverflowError):
        return "bad_value"
    if isinstance(exc, OverflowError):  # SQLite's driver: an integer past 64 bits
        return "bad_value"
    original = getattr(exc, "orig", None)
    for candidate in (exc, original, getattr(original, "__cause__", None)):
        if isinstance(candidate, OSError):
            return "down"
        if candidate is not None and type(candidate).__name__ in _DOWN_NAMES:
            return "down"
    return "other"


def describe(exc: BaseException) -> str:
    """A one-line reason for a log, never empty (``TimeoutError()`` has no message)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not text:
        return f"{name}: no answer within the timeout"
    return f"{name}: {text}" if text else name
