"""Which database errors count as "the database is down" (pure classification, no server)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from faasify.baas.service import _is_disconnect


class _DriverError(Exception):
    def __init__(self, sqlstate: str | None = None) -> None:
        super().__init__("driver error")
        self.sqlstate = sqlstate


class ConnectionDoesNotExistError(Exception):
    """Named like asyncpg's: the connection was closed under the driver."""


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "state",
    ["57P01", "57P02", "57P03", "53300", "08006", "08001"],
)
def test_server_gone_states_are_disconnects(state: str) -> None:
    assert _is_disconnect(_wrapped(_DriverError(state)))


@pytest.mark.parametrize("state", ["23505", "42601", "40P01", "22P02", None])
def test_answers_from_a_live_server_are_not(state: str | None) -> None:
    assert not _is_disconnect(_wrapped(_DriverError(state)))


def test_state_found_on_the_adapted_errors_cause() -> None:
    adapted = _DriverError()
    adapted.__cause__ = _DriverError("57P01")
    assert _is_disconnect(_wrapped(adapted))


def test_socket_errors_closed_connections_and_invalidation_are_disconnects() -> None:
    assert _is_disconnect(_wrapped(ConnectionResetError()))
    assert _is_disconnect(_wrapped(ConnectionDoesNotExistError()))
    assert _is_disconnect(_wrapped(_DriverError(), invalidated=True))
