"""Named queries: a read the service owner writes once, that callers run by name.

For what a collection's list cannot say (an aggregate, a join, a report), the
service declares the statement with SQLAlchemy and the parameters callers may
pass, each with its type. The caller's owner id is bound by the service, never
taken from the request, so a named query is as tenant-safe as a collection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from faasify.baas.auth import Principal
from faasify.baas.collection import _jsonable
from faasify.baas.problems import Problem

__all__ = ["NamedQuery"]

_PARSERS: dict[type, Any] = {
    int: int,
    float: float,
    str: str,
    bool: lambda text: {"true": True, "1": True, "false": False, "0": False}[text.lower()],
}


class NamedQuery:
    """``NamedQuery("open_count", text("... WHERE owner = :owner AND done = :done"),
    params={"done": bool})``: run as ``GET /v1/queries/open_count?done=false``."""

    def __init__(
        self,
        name: str,
        statement: Any,
        *,
        params: Mapping[str, type] | None = None,
        owner_param: str | None = "owner",
        max_rows: int = 1000,
    ) -> None:
        self.name = name
        self.statement = statement
        self.params = dict(params or {})
        unsupported = [k for k, kind in self.params.items() if kind not in _PARSERS]
        if unsupported:
            raise TypeError(f"parameters of unsupported types: {unsupported}")
        if owner_param is not None and owner_param in self.params:
            raise ValueError(f"{owner_param!r} is bound by the service, not by callers")
        self.owner_param = owner_param
        self.max_rows = max_rows

    def _bind(self, principal: Principal, query: Mapping[str, str]) -> dict[str, Any]:
        unknown = sorted(set(query) - set(self.params))
        if unknown:
            raise Problem(400, f"unknown parameter(s): {', '.join(unknown)}")
        missing = sorted(set(self.params) - set(query))
        if missing:
            raise Problem(400, f"missing parameter(s): {', '.join(missing)}")
        values: dict[str, Any] = {}
        for name, kind in self.params.items():
            try:
                values[name] = _PARSERS[kind](query[name])
            except (ValueError, KeyError):
                raise Problem(400, f"parameter {name!r} must be a {kind.__name__}") from None
        if self.owner_param is not None:
            values[self.owner_param] = principal.owner
        return values

    async def run(
        self, conn: AsyncConnection, principal: Principal, query: Mapping[str, str]
    ) -> dict[str, Any]:
        result = await conn.execute(self.statement, self._bind(principal, query))
        rows = result.mappings().fetchmany(self.max_rows + 1)
        if len(rows) > self.max_rows:
            raise Problem(422, f"the query returned more than {self.max_rows} rows")
        return {"rows": [{k: _jsonable(v) for k, v in row.items()} for row in rows]}
