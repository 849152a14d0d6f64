"""Values in and out of the service: JSON bodies, query strings, row values.

Everything a caller sends is checked here before any of it reaches SQL: JSON
that only the lenient parser accepts (NaN, infinity, numbers past a float,
nesting past a sane depth) is refused as not JSON; strings that no database
can store (lone surrogates, NUL) are refused as unprocessable; numbers in a
query string are ASCII digits only (``int()`` would take other scripts' digits,
``" 5"`` and ``"1_0"``).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from faasify.baas.errors import Problem

__all__ = [
    "COMPARABLE",
    "MAX_DEPTH",
    "integer_bounds",
    "parse_body",
    "parse_query_value",
    "parse_time",
    "python_type",
    "to_json",
]

#: Deepest nesting of arrays and objects a body may have.
MAX_DEPTH = 32

#: Column types a filter may compare for equality with a query-string value.
COMPARABLE: tuple[type, ...] = (bool, int, float, decimal.Decimal, str, dt.datetime, dt.date)

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_NUMBER = re.compile(r"-?[0-9]{1,300}(\.[0-9]{1,300})?([eE][-+]?[0-9]{1,4})?")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a double")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def parse_body(raw: bytes) -> Any:
    """A request body as strict JSON, or a 400/422 problem saying what is wrong."""
    try:
        text = raw.decode("utf-8")
        value = _DECODER.decode(text)
    except RecursionError:
        raise Problem(400, f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "the body is not valid JSON") from None
    _check(value, 0)
    return value


def _check(value: Any, depth: int) -> None:
    """Refuse what JSON may spell but no database (or UTF-8 answer) can hold."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Problem(422, "a string holds a lone surrogate (\\ud800-\\udfff)") from None
        return
    if isinstance(value, (dict, list)):
        if depth >= MAX_DEPTH:
            raise Problem(400, f"the body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check(key, depth + 1)
                _check(item, depth + 1)
        else:
            for item in value:
                _check(item, depth + 1)


_INTEGER_BOUNDS = (
    (sa.SmallInteger, -(2**15), 2**15 - 1),
    (sa.BigInteger, -(2**63), 2**63 - 1),
    (sa.Integer, -(2**31), 2**31 - 1),
)


def integer_bounds(column: sa.Column[Any]) -> tuple[int, int]:
    """The values an integer column holds: 16, 64 or 32 bits, as PostgreSQL stores them
    (so a value is refused the same way on every database, and as the document says)."""
    for kind, low, high in _INTEGER_BOUNDS:
        if isinstance(column.type, kind):
            return low, high
    return -(2**63), 2**63 - 1


def python_type(column: sa.Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def parse_query_value(column: sa.Column[Any], text: str, *, what: str) -> Any:
    """A value from a query string or a path, typed by ``column`` (400 if it is not one)."""
    kind = python_type(column)
    if kind is bool:
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    elif kind is int:
        if _INTEGER.fullmatch(text):
            low, high = integer_bounds(column)
            if low <= int(text) <= high:
                return int(text)
    elif kind in (float, decimal.Decimal):
        if _NUMBER.fullmatch(text):
            number = float(text) if kind is float else decimal.Decimal(text)
            if math.isfinite(number):
                return number
    elif kind in (dt.datetime, dt.date):
        try:
            return parse_time(column, text)
        except ValueError:
            pass
    elif kind is str or kind is None:
        if "\x00" not in text:
            return text
    elif kind is uuid.UUID:
        try:
            return uuid.UUID(text)
        except ValueError:
            pass
    raise Problem(400, f"{what} cannot be {text[:40]!r}")


def parse_time(column: sa.Column[Any], text: str) -> Any:
    """An ISO 8601 date or date-time for ``column``.

    A column without a time zone holds UTC: a value sent with an offset is
    converted to UTC and stored without it. (Raises ``ValueError``.)
    """
    if python_type(column) is dt.date:
        return dt.date.fromisoformat(text)
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None and not getattr(column.type, "timezone", False):
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _finite(value: Any) -> Any:
    return value if math.isfinite(value) else None


def _any(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(column: sa.Column[Any] | None) -> Callable[[Any], Any] | None:
    """How a value of ``column`` becomes JSON, ``None`` when it already is.

    A non-finite float (which another program may have stored) becomes ``null``
    rather than a number JSON cannot carry.
    """
    kind = python_type(column) if column is not None else None
    if kind in (bool, int, str):
        return None
    if kind in (dt.datetime, dt.date, dt.time):
        return lambda value: None if value is None else value.isoformat()
    if kind is float:
        return lambda value: None if value is None else _finite(value)
    return _any
