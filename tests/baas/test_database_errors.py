"""What a database error means for the request (pure classification, no server):
out of reach, a bad value, a conflict, retry, or a bug."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from faasify.baas.database.errors import classify, describe


class _DriverError(Exception):
    def __init__(self, sqlstate: str | None = None) -> None:
        super().__init__("driver error")
        self.sqlstate = sqlstate


class ConnectionDoesNotExistError(Exception):
    """Named like asyncpg's: the connection was closed under the driver."""


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("state", ["57P01", "57P02", "57P03", "57014", "53300", "08006", "08001"])
def test_server_gone_states_mean_down(state: str) -> None:
    assert classify(_wrapped(_DriverError(state))) == "down"


@pytest.mark.parametrize(
    ("state", "fault"),
    [("23505", "conflict"), ("22P02", "bad_value"), ("40P01", "retry"), ("42601", "other")],
)
def test_answers_from_a_live_server_are_not_down(state: str, fault: str) -> None:
    assert classify(_wrapped(_DriverError(state))) == fault


def test_state_found_on_the_adapted_errors_cause() -> None:
    adapted = _DriverError()
    adapted.__cause__ = _DriverError("57P01")
    assert classify(_wrapped(adapted)) == "down"


def test_socket_errors_closed_connections_invalidation_and_timeouts_are_down() -> None:
    assert classify(_wrapped(ConnectionResetError())) == "down"
    assert classify(_wrapped(ConnectionDoesNotExistError())) == "down"
    assert classify(_wrapped(_DriverError(), invalidated=True)) == "down"
    assert classify(asyncio.TimeoutError()) == "down"
    assert classify(OSError("no route to host")) == "down"


def test_asyncpgs_own_errors() -> None:
    assert classify(asyncpg.exceptions.ConnectionDoesNotExistError("gone")) == "down"
    assert classify(asyncpg.exceptions.InterfaceError("connection is closed")) == "down"
    assert classify(asyncpg.exceptions.DataError("invalid input for query argument")) == "bad_value"
    assert classify(asyncpg.exceptions.UniqueViolationError("dup")) == "conflict"
    assert classify(asyncpg.exceptions.DeadlockDetectedError("deadlock")) == "retry"
    assert classify(asyncpg.exceptions.UndefinedTableError("no such table")) == "other"
    assert classify(IntegrityError("INSERT", None, _DriverError())) == "conflict"


def test_a_reason_is_never_empty() -> None:
    assert describe(asyncio.TimeoutError()) == "TimeoutError: no answer within the timeout"
    assert describe(ConnectionResetError()) == "ConnectionResetError"
    assert describe(OSError("refused")) == "OSError: refused"
