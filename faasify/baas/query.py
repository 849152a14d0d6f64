"""Named queries: a read the service owner writes once, that callers run by name.

For what a collection's list cannot say (an aggregate, a join, a report), the
service declares the statement with SQLAlchemy and the parameters callers may
pass, each with its type. The caller's identity is bound by the service, never
taken from the request: ``owner_param`` receives :attr:`Principal.key
<faasify.baas.auth.Principal.key>` (the tenant and owner joined, the value an
owned collection without a tenant column stores), or, when the query declares
a ``tenant_param`` too, the owner and the tenant apart. So a named query is as
tenant-safe as a collection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from faasify.baas.auth import Principal
from faasify.baas.database import Session, Statement
from faasify.baas.errors import Problem, ServiceConfigurationError
from faasify.baas.values import to_json

__all__ = ["NamedQuery"]

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_NUMBER = re.compile(r"-?[0-9]{1,300}(\.[0-9]{1,300})?([eE][-+]?[0-9]{1,3})?")
_TRUTH = {"true": True, "1": True, "false": False, "0": False}


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
        raise ValueError(text)
    return int(text)


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _boolean(text: str) -> bool:
    return _TRUTH[text.lower()]


def _string(text: str) -> str:
    if "\x00" in text:
        raise ValueError(text)
    return text


_PARSERS: dict[type, Callable[[str], Any]] = {
    int: _integer,
    float: _number,
    str: _string,
    bool: _boolean,
}
_CONVERT = to_json(None)


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
        tenant_param: str | None = None,
        max_rows: int = 1000,
    ) -> None:
        self.name = name
        self.statement = statement
        self._statement = Statement(statement)
        self.params = dict(params or {})
        unsupported = [k for k, kind in self.params.items() if kind not in _PARSERS]
        if unsupported:
            raise ServiceConfigurationError(f"parameters of unsupported types: {unsupported}")
        for bound in (owner_param, tenant_param):
            if bound is not None and bound in self.params:
                raise ServiceConfigurationError(
                    f"{bound!r} is bound by the service, not by callers"
                )
        if tenant_param is not None and owner_param is None:
            raise ServiceConfigurationError("a tenant_param needs an owner_param too")
        self.owner_param = owner_param
        self.tenant_param = tenant_param
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
        if self.tenant_param is not None:
            values[self.tenant_param] = principal.tenant
            values[self.owner_param or "owner"] = principal.owner
        elif self.owner_param is not None:
            values[self.owner_param] = principal.key
        return values

    async def run(
        self, session: Session, principal: Principal, query: Mapping[str, str]
    ) -> dict[str, Any]:
        rows = await session.rows(self._statement, self._bind(principal, query))
        if len(rows) > self.max_rows:
            raise Problem(422, f"the query returned more than {self.max_rows} rows")
        assert _CONVERT is not None
        return {"rows": [{k: _CONVERT(v) for k, v in row.items()} for row in rows]}
