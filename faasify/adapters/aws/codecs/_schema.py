"""What a malformed event got wrong: each shape's fields, checked only after a failure.

A codec reads an event on the fast path with plain lookups, and an event that
breaks one of them raises ``KeyError``, ``TypeError``, ... somewhere inside.
Only then is the event checked against its shape's :class:`Field` tree, to name
the field that was wrong in a :class:`~faasify.MalformedEventError`. If the tree
finds nothing wrong, the failure was not the event's and it is raised as it is:
a bug in faasify must stay a 500, not pass for a client's 400. The check costs
nothing on a well-formed event.
"""

from __future__ import annotations

from typing import Any

from faasify._exceptions import MalformedEventError
from faasify.core.headers import is_text

__all__ = ["Field", "diagnose"]


class Field:
    """One field of an event: its kind, whether it must be there, its own fields.

    Kinds: ``"object"`` (with ``fields``), ``"string"``, ``"boolean"``,
    ``"string-map"`` (names to strings), ``"multi-map"`` (names to lists of
    strings), ``"list-map"`` (names to lists of strings, or to a string or
    null, as query maps allow), ``"string-list"``.
    A field that is not ``required`` may be absent or ``null``.
    """

    __slots__ = ("fields", "kind", "required")

    def __init__(self, kind: str, *, required: bool = False, **fields: Field) -> None:
        self.kind = kind
        self.required = required
        self.fields = fields


def _problem(field: Field, value: Any) -> str | None:
    """What is wrong with ``value`` for ``field`` itself (not its sub-fields)."""
    kind = field.kind
    if kind == "object":
        return None if type(value) is dict else "must be a JSON object"
    if kind == "string":
        return None if is_text(value) else "must be a string of text"
    if kind == "boolean":
        return None if type(value) is bool else "must be true or false"
    if kind == "string-list":
        if type(value) is not list:
            return "must be a list of strings"
        return None if all(is_text(v) for v in value) else "must hold only strings of text"
    if kind in ("string-map", "multi-map", "list-map"):
        if type(value) is not dict:
            return "must be a JSON object"
        for name, item in value.items():
            if not is_text(name):
                return "has a name that is not a string of text"
            if kind == "string-map":
                ok = is_text(item)
            elif kind == "multi-map":
                ok = type(item) is list and all(is_text(v) for v in item)
            else:
                ok = (
                    item is None
                    or is_text(item)
                    or (type(item) is list and all(is_text(v) for v in item))
                )
            if not ok:
                return f"has a value for {name!r} of the wrong type"
        return None
    raise AssertionError(f"unknown field kind {kind!r}")


def _walk(fields: dict[str, Field], data: dict[str, Any], prefix: str) -> tuple[str, str] | None:
    for name, field in fields.items():
        path = f"{prefix}{name}"
        value = data.get(name)
        if value is None:
            if field.required:
                return path, "is missing"
            continue
        problem = _problem(field, value)
        if problem is not None:
            return path, problem
        if field.fields:
            found = _walk(field.fields, value, path + ".")
            if found is not None:
                return found
    return None


def diagnose(shape: Field, event: Any, source: str) -> MalformedEventError | None:
    """The first field of ``event`` that does not fit ``shape``; ``None`` if all fit."""
    if type(event) is not dict:
        return MalformedEventError(
            f"the event must be a JSON object, not {type(event).__name__}", source=source
        )
    found = _walk(shape.fields, event, "")
    if found is None:
        return None
    path, problem = found
    return MalformedEventError(f"{path} {problem}", field=path, source=source)
