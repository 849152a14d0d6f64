"""A collection: one SQLAlchemy Core table exposed as list/get/create/update/delete.

Every statement is built with SQLAlchemy Core from the declared table, so no
client string ever reaches SQL text: field and filter names are checked
against the table's columns, and values travel as bound parameters.

On an owned collection every statement carries the caller's tenant and owner
together: ``tenant = :tenant AND owner = :owner`` when the table has a tenant
column (``tenant="tenant_id"``), else ``owner = :key`` where the owner column
holds :attr:`Principal.key <faasify.baas.auth.Principal.key>`, the pair joined so
that no two pairs meet. A tenant can neither read nor change nor detect another
tenant's rows: a row that is not yours is answered exactly like a row that does
not exist, and a page cursor only says where to resume in the caller's own rows.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from faasify.baas.auth import Principal
from faasify.baas.database import Session, Statement
from faasify.baas.errors import Problem, ServiceConfigurationError
from faasify.baas.values import (
    COMPARABLE,
    integer_bounds,
    parse_query_value,
    parse_time,
    python_type,
    to_json,
)

__all__ = ["Collection"]

# Statement shapes kept per collection (see Collection._statement).
_MAX_SHAPES = 128
_LIST_PARAMETERS = frozenset({"limit", "cursor", "order"})


def _coerce(column: sa.Column[Any], value: Any) -> Any:
    """A JSON value checked against the column's type (422 if it does not fit)."""
    if value is None:
        if not column.nullable:
            raise Problem(422, f"field {column.name!r} may not be null")
        return None
    kind = python_type(column)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON does not tell 3.0 from 3
        ok = isinstance(value, int) and not isinstance(value, bool)
        low, high = integer_bounds(column)
        if ok and not low <= value <= high:
            raise Problem(422, f"field {column.name!r} must be between {low} and {high}")
    elif kind in (float, decimal.Decimal):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is str:
        ok = isinstance(value, str)
        length = getattr(column.type, "length", None)
        if ok and length is not None and len(value) > length:
            raise Problem(422, f"field {column.name!r} is longer than {length} characters")
        if ok and "\x00" in value:  # PostgreSQL's text types cannot hold it
            raise Problem(422, f"field {column.name!r} cannot contain NUL characters")
    elif kind in (dt.datetime, dt.date):
        if not isinstance(value, str):
            ok = False
        else:
            try:
                return parse_time(column, value)
            except ValueError:
                ok = False
    elif kind in (dict, list):  # JSON: any JSON value (already checked when parsed)
        ok = True
        if _holds_nul(value):
            raise Problem(422, f"field {column.name!r} cannot contain NUL characters")
    else:
        ok = True
    if not ok:
        raise Problem(422, f"field {column.name!r} has the wrong type for {column.type}")
    return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class Collection:
    """Declares how a table is exposed.

    ``owner`` names the column that scopes rows to the caller (``None`` for a
    collection every caller shares, read-only); ``tenant`` names a tenant column
    beside it, if the table has one (see the module docstring for what the owner
    column holds without it). ``filterable`` names the columns a list may filter
    on (default: every exposed column whose values can be compared: not JSON,
    not binary); ``read_only`` the columns callers may read but not write.
    """

    def __init__(
        self,
        name: str,
        table: sa.Table,
        *,
        owner: str | None = "owner",
        tenant: str | None = None,
        id_column: str = "id",
        filterable: Iterable[str] | None = None,
        read_only: Iterable[str] = (),
        max_page_size: int = 100,
        default_page_size: int = 20,
    ) -> None:
        self.name = name
        self.table = table
        try:
            self.id = table.c[id_column]
            self.owner = table.c[owner] if owner is not None else None
            self.tenant = table.c[tenant] if tenant is not None else None
        except KeyError as exc:
            raise ServiceConfigurationError(
                f"{name}: table {table.name} has no column {exc}"
            ) from None
        if self.tenant is not None and self.owner is None:
            raise ServiceConfigurationError(f"{name}: a tenant column needs an owner column too")
        if not 1 <= default_page_size <= max_page_size:
            raise ServiceConfigurationError(
                f"{name}: default_page_size must be between 1 and max_page_size"
            )
        hidden = {c.name for c in (self.owner, self.tenant) if c is not None}
        self.exposed = [c for c in table.columns if c.name not in hidden]
        read_only = set(read_only)
        self.writable = {
            c.name: c for c in self.exposed if c.name != id_column and c.name not in read_only
        }
        comparable = {c.name for c in self.exposed if python_type(c) in COMPARABLE}
        if filterable is None:
            names = [c.name for c in self.exposed if c.name in comparable]
        else:
            names = list(filterable)
            wrong = [n for n in names if n not in comparable]
            if wrong:
                raise ServiceConfigurationError(
                    f"{name}: cannot filter on {', '.join(wrong)}: only exposed columns of "
                    "types compared by equality (numbers, strings, booleans, dates)"
                )
        self.filterable = {n: table.c[n] for n in names}
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self._converters = [(c.name, to_json(c)) for c in self.exposed]
        self._plain = all(convert is None for _, convert in self._converters)
        self._statements: OrderedDict[tuple[Any, ...], Statement] = OrderedDict()

    # -- helpers ------------------------------------------------------------------

    def _json(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if self._plain:
            return {name: row[name] for name, _ in self._converters}
        return {
            name: row[name] if convert is None else convert(row[name])
            for name, convert in self._converters
        }

    def _id_value(self, raw: str) -> Any:
        return parse_query_value(self.id, raw, what=f"{self.id.name}")

    def _values(self, body: Any, *, partial: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Problem(422, "the body must be a JSON object")
        unknown = sorted(set(body) - set(self.writable))
        if unknown:
            raise Problem(422, f"unknown or read-only field(s): {', '.join(unknown)}")
        values = {name: _coerce(self.writable[name], value) for name, value in body.items()}
        if not partial:
            missing = [
                c.name
                for c in self.writable.values()
                if c.name not in values
                and not c.nullable
                and c.default is None
                and c.server_default is None
            ]
            if missing:
                raise Problem(422, f"missing field(s): {', '.join(missing)}")
        if partial and not values:
            raise Problem(422, "nothing to update")
        return values

    def _encode_cursor(self, last_id: Any) -> str:
        convert = to_json(self.id)
        value = last_id if convert is None else convert(last_id)
        return base64.urlsafe_b64encode(json.dumps([value]).encode()).decode()

    def _decode_cursor(self, cursor: str) -> Any:
        """The last id of the previous page. A cursor carries nothing else: the
        page after it is read with the caller's own scope, so another caller's
        cursor only says where to start in the caller's own rows."""
        try:
            (last_id,) = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        except (ValueError, TypeError):
            raise Problem(400, "the cursor is not one this service issued") from None
        if last_id is None or isinstance(last_id, (dict, list, bool)):
            raise Problem(400, "the cursor is not one this service issued")
        return parse_query_value(self.id, str(last_id), what="the cursor")

    # -- statements ---------------------------------------------------------------------
    #
    # Each statement is built once per shape, with every value a bound parameter,
    # and kept: building a Core statement and computing its cache key anew costs
    # more CPU than running it, and a request carries values, not shapes. A
    # caller picks the shape (which columns it filters on), so the number of
    # shapes grows as 2**filterable columns: only the most recently used
    # _MAX_SHAPES are kept.

    def _statement(
        self, shape: tuple[Any, ...], build: Callable[[], Any], columns: Sequence[str] | None = None
    ) -> Statement:
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = Statement(build(), columns=columns)
            if len(self._statements) > _MAX_SHAPES:
                self._statements.popitem(last=False)
        else:
            self._statements.move_to_end(shape)
        return statement

    def _owned(self, statement: Any) -> Any:
        if self.owner is not None:
            statement = statement.where(self.owner == sa.bindparam("_faasify_owner"))
        if self.tenant is not None:
            statement = statement.where(self.tenant == sa.bindparam("_faasify_tenant"))
        return statement

    def _list_statement(self, filters: tuple[str, ...], descending: bool, after: bool) -> Statement:
        def build() -> Any:
            statement = self._owned(sa.select(*self.exposed))
            for name in filters:
                statement = statement.where(
                    self.filterable[name] == sa.bindparam(f"_faasify_filter_{name}")
                )
            if after:
                last: Any = sa.bindparam("_faasify_after")
                statement = statement.where(self.id < last if descending else self.id > last)
            order = self.id.desc() if descending else self.id.asc()
            return statement.order_by(order).limit(sa.bindparam("_faasify_limit"))

        return self._statement(("list", filters, descending, after), build)

    def _by_id(
        self, kind: str, build: Callable[[], Any], columns: Sequence[str] | None = None
    ) -> Statement:
        return self._statement(
            (kind, *(columns or ())),
            lambda: self._owned(build().where(self.id == sa.bindparam("_faasify_id"))),
            columns,
        )

    def _scope(self, principal: Principal, **values: Any) -> dict[str, Any]:
        params = {f"_faasify_{name}": value for name, value in values.items()}
        if self.tenant is not None:
            params["_faasify_tenant"] = principal.tenant
            params["_faasify_owner"] = principal.owner
        elif self.owner is not None:
            params["_faasify_owner"] = principal.key
        return params

    def _stamp(self, principal: Principal, values: dict[str, Any]) -> None:
        """The caller's tenant and owner on a new row (never taken from the body)."""
        assert self.owner is not None
        owner = principal.owner if self.tenant is not None else principal.key
        length = getattr(self.owner.type, "length", None)
        if length is not None and len(owner) > length:
            raise Problem(403, f"this caller's id is longer than {self.name}'s owner column holds")
        values[self.owner.name] = owner
        if self.tenant is not None:
            values[self.tenant.name] = principal.tenant

    def _read_only(self) -> Problem:
        return Problem(403, f"{self.name} is read-only")

    # -- operations -----------------------------------------------------------------

    async def list(
        self, session: Session, principal: Principal, params: Mapping[str, str]
    ) -> dict[str, Any]:
        limit_text = params.get("limit")
        if limit_text is None:
            limit = self.default_page_size
        elif limit_text.isascii() and limit_text.isdigit() and len(limit_text) < 6:
            limit = int(limit_text)
        else:
            limit = 0
        if not 1 <= limit <= self.max_page_size:
            raise Problem(400, f"limit must be between 1 and {self.max_page_size}")
        order = params.get("order", "id")
        descending = order.startswith("-")
        if order.lstrip("-") != self.id.name or order.count("-") > 1:
            raise Problem(400, f"order must be {self.id.name!r} or '-{self.id.name}'")
        values: dict[str, Any] = {"limit": limit + 1}
        filters: list[str] = []
        for key, value in params.items():
            if key in _LIST_PARAMETERS:
                continue
            column = self.filterable.get(key)
            if column is None:
                raise Problem(400, f"cannot filter on {key!r}")
            values[f"filter_{key}"] = parse_query_value(column, value, what=f"filter {key!r}")
            filters.append(key)
        cursor = params.get("cursor")
        if cursor:
            values["after"] = self._decode_cursor(cursor)
        statement = self._list_statement(tuple(sorted(filters)), descending, bool(cursor))
        rows = await session.rows(statement, self._scope(principal, **values))
        items = [self._json(row) for row in rows[:limit]]
        next_cursor = (
            self._encode_cursor(rows[limit - 1][self.id.name]) if len(rows) > limit else None
        )
        return {"items": items, "next": next_cursor}

    async def get(self, session: Session, principal: Principal, raw_id: str) -> dict[str, Any]:
        statement = self._by_id("get", lambda: sa.select(*self.exposed))
        rows = await session.rows(statement, self._scope(principal, id=self._id_value(raw_id)))
        if not rows:
            raise Problem(404, f"no {self.name} item {raw_id!r}")
        return self._json(rows[0])

    async def create(self, session: Session, principal: Principal, body: Any) -> dict[str, Any]:
        if self.owner is None:
            raise self._read_only()
        values = self._values(body, partial=False)
        self._stamp(principal, values)
        columns = tuple(sorted(values))
        statement = self._statement(
            ("create", *columns),
            lambda: sa.insert(self.table).returning(*self.exposed),
            columns,
        )
        rows = await session.rows(statement, values)
        return self._json(rows[0])

    async def update(
        self, session: Session, principal: Principal, raw_id: str, body: Any
    ) -> dict[str, Any]:
        if self.owner is None:
            raise self._read_only()
        values = self._values(body, partial=True)
        columns = tuple(sorted(values))
        statement = self._by_id(
            "update", lambda: sa.update(self.table).returning(*self.exposed), columns
        )
        params = {**values, **self._scope(principal, id=self._id_value(raw_id))}
        rows = await session.rows(statement, params)
        if not rows:
            raise Problem(404, f"no {self.name} item {raw_id!r}")
        return self._json(rows[0])

    async def delete(self, session: Session, principal: Principal, raw_id: str) -> None:
        if self.owner is None:
            raise self._read_only()
        statement = self._by_id("delete", lambda: sa.delete(self.table).returning(self.id))
        rows = await session.rows(statement, self._scope(principal, id=self._id_value(raw_id)))
        if not rows:
            raise Problem(404, f"no {self.name} item {raw_id!r}")

    async def delete_many(
        self, session: Session, principal: Principal, raw_ids: Sequence[str]
    ) -> None:
        """Delete every one of ``raw_ids`` or none: 404 if any is missing (or not
        the caller's). Must run in a transaction, which the 404 rolls back."""
        if self.owner is None:
            raise self._read_only()
        if not 1 <= len(raw_ids) <= self.max_page_size:
            raise Problem(400, f"give 1 to {self.max_page_size} ids as ?id=...&id=...")
        ids = sorted({self._id_value(raw) for raw in raw_ids})

        def build() -> Any:
            # One placeholder per id (a shape per count, at most max_page_size):
            # an array parameter would make asyncpg introspect the array type,
            # which toggles jit with set_config, a statement that pins RDS Proxy.
            listed: list[Any] = [sa.bindparam(f"_faasify_id_{i}") for i in range(len(ids))]
            return self._owned(sa.delete(self.table).where(self.id.in_(listed))).returning(self.id)

        statement = self._statement(("delete_many", len(ids)), build)
        values = {f"id_{i}": value for i, value in enumerate(ids)}
        rows = await session.rows(statement, self._scope(principal, **values))
        missing = set(ids) - {row[self.id.name] for row in rows}
        if missing:
            raise Problem(404, f"no {self.name} item {sorted(missing)[0]!r}: nothing was deleted")
