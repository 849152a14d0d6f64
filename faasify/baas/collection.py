"""A collection: one SQLAlchemy Core table exposed as list/get/create/update/delete.

Every statement is built with SQLAlchemy Core from the declared table, so no
client string ever reaches SQL text: field and filter names are checked
against the table's columns, and values travel as bound parameters. On an
owned collection every statement carries ``owner = <the caller>``, so a
tenant can neither read nor change nor detect another tenant's rows: a row
that is not yours is answered exactly like a row that does not exist.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from faasify.baas.auth import Principal
from faasify.baas.problems import Problem

__all__ = ["Collection"]

# Statement shapes kept per collection (see Collection._statement).
_MAX_SHAPES = 128


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _python_type(column: sa.Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _coerce(column: sa.Column[Any], value: Any) -> Any:
    """A JSON value checked against the column's type (422 if it does not fit)."""
    if value is None:
        if not column.nullable:
            raise Problem(422, f"field {column.name!r} may not be null")
        return None
    kind = _python_type(column)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
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
                return (dt.datetime if kind is dt.datetime else dt.date).fromisoformat(value)
            except ValueError:
                ok = False
    else:
        ok = True
    if not ok:
        raise Problem(422, f"field {column.name!r} has the wrong type for {column.type}")
    return value


def _parse_query_value(column: sa.Column[Any], text: str) -> Any:
    """A filter value from the query string, typed by the column."""
    kind = _python_type(column)
    try:
        if kind is bool:
            if text.lower() in ("true", "1"):
                return True
            if text.lower() in ("false", "0"):
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind in (float, decimal.Decimal):
            return float(text)
        if kind in (dt.datetime, dt.date):
            return (dt.datetime if kind is dt.datetime else dt.date).fromisoformat(text)
    except ValueError:
        raise Problem(400, f"filter {column.name!r} cannot be {text!r}") from None
    return text


class Collection:
    """Declares how a table is exposed. ``owner`` names the column that scopes rows
    to the caller (``None`` for a collection every caller shares, read-only)."""

    def __init__(
        self,
        name: str,
        table: sa.Table,
        *,
        owner: str | None = "owner",
        id_column: str = "id",
        filterable: Iterable[str] | None = None,
        read_only: Iterable[str] = (),
        max_page_size: int = 100,
        default_page_size: int = 20,
    ) -> None:
        self.name = name
        self.table = table
        self.id = table.c[id_column]
        self.owner = table.c[owner] if owner is not None else None
        hidden = {id_column, *([owner] if owner else [])}
        self.writable = {
            c.name: c
            for c in table.columns
            if c.name not in hidden and c.name not in set(read_only)
        }
        names = [c.name for c in table.columns if c.name != owner]
        self.filterable = {n: table.c[n] for n in (filterable if filterable is not None else names)}
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self._statements: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    # -- helpers ------------------------------------------------------------------

    def _row(self, row: sa.Row[Any]) -> dict[str, Any]:
        data = {key: _jsonable(value) for key, value in row._mapping.items()}
        if self.owner is not None:
            data.pop(self.owner.name, None)
        return data

    def _id_value(self, raw: str) -> Any:
        return _parse_query_value(self.id, raw)

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

    @staticmethod
    def _encode_cursor(last_id: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps([_jsonable(last_id)]).encode()).decode()

    def _decode_cursor(self, cursor: str) -> Any:
        try:
            (last_id,) = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (ValueError, TypeError):
            raise Problem(400, "the cursor is not one this service issued") from None
        return last_id

    # -- statements ---------------------------------------------------------------------
    #
    # Each statement is built once per shape, with every value a bound parameter,
    # and kept: building a Core statement and computing its cache key anew costs
    # more CPU than running it, and a request carries values, not shapes. A
    # caller picks the shape (which columns it filters on), so the number of
    # shapes grows as 2**filterable columns: only the most recently used
    # _MAX_SHAPES are kept.

    def _statement(self, shape: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = build()
            if len(self._statements) > _MAX_SHAPES:
                self._statements.popitem(last=False)
        else:
            self._statements.move_to_end(shape)
        return statement

    def _owned(self, statement: Any) -> Any:
        if self.owner is not None:
            statement = statement.where(self.owner == sa.bindparam("_faasify_owner"))
        return statement

    def _list_statement(self, filters: tuple[str, ...], descending: bool, after: bool) -> Any:
        def build() -> Any:
            statement = self._owned(sa.select(self.table))
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

    def _by_id(self, kind: str, build: Callable[[], Any]) -> Any:
        return self._statement(
            (kind,), lambda: self._owned(build().where(self.id == sa.bindparam("_faasify_id")))
        )

    def _scope(self, principal: Principal, **values: Any) -> dict[str, Any]:
        params = {f"_faasify_{name}": value for name, value in values.items()}
        if self.owner is not None:
            params["_faasify_owner"] = principal.owner
        return params

    # -- operations -----------------------------------------------------------------

    async def list(
        self, conn: AsyncConnection, principal: Principal, params: Mapping[str, str]
    ) -> dict[str, Any]:
        limit_text = params.get("limit", str(self.default_page_size))
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= self.max_page_size:
            raise Problem(400, f"limit must be between 1 and {self.max_page_size}")
        limit = int(limit_text)
        order = params.get("order", "id")
        descending = order.startswith("-")
        if order.lstrip("-") != self.id.name:
            raise Problem(400, f"order must be {self.id.name!r} or '-{self.id.name}'")
        values: dict[str, Any] = {"limit": limit + 1}
        filters: list[str] = []
        for key, value in params.items():
            if key in ("limit", "cursor", "order"):
                continue
            column = self.filterable.get(key)
            if column is None:
                raise Problem(400, f"cannot filter on {key!r}")
            values[f"filter_{key}"] = _parse_query_value(column, value)
            filters.append(key)
        cursor = params.get("cursor")
        if cursor:
            values["after"] = self._decode_cursor(cursor)
        statement = self._list_statement(tuple(sorted(filters)), descending, bool(cursor))
        rows = (await conn.execute(statement, self._scope(principal, **values))).all()
        items = [self._row(row) for row in rows[:limit]]
        next_cursor = (
            self._encode_cursor(rows[limit - 1]._mapping[self.id.name])
            if len(rows) > limit
            else None
        )
        return {"items": items, "next": next_cursor}

    async def get(self, conn: AsyncConnection, principal: Principal, raw_id: str) -> dict[str, Any]:
        statement = self._by_id("get", lambda: sa.select(self.table))
        params = self._scope(principal, id=self._id_value(raw_id))
        row = (await conn.execute(statement, params)).first()
        if row is None:
            raise Problem(404, f"no {self.name} item {raw_id!r}")
        return self._row(row)

    async def create(
        self, conn: AsyncConnection, principal: Principal, body: Any
    ) -> dict[str, Any]:
        if self.owner is None:
            raise Problem(403, f"{self.name} is read-only")
        values = self._values(body, partial=False)
        values[self.owner.name] = principal.owner
        statement = self._statement(
            ("create",), lambda: sa.insert(self.table).returning(self.table)
        )
        row = (await conn.execute(statement, values)).one()
        return self._row(row)

    async def update(
        self, conn: AsyncConnection, principal: Principal, raw_id: str, body: Any
    ) -> dict[str, Any]:
        if self.owner is None:
            raise Problem(403, f"{self.name} is read-only")
        values = self._values(body, partial=True)
        statement = self._by_id("update", lambda: sa.update(self.table).returning(self.table))
        # The keys of `values` are column names: they become the SET clause.
        params = {**values, **self._scope(principal, id=self._id_value(raw_id))}
        row = (await conn.execute(statement, params)).first()
        if row is None:
            raise Problem(404, f"no {self.name} item {raw_id!r}")
        return self._row(row)

    async def delete(self, conn: AsyncConnection, principal: Principal, raw_id: str) -> None:
        if self.owner is None:
            raise Problem(403, f"{self.name} is read-only")
        statement = self._by_id("delete", lambda: sa.delete(self.table).returning(self.id))
        params = self._scope(principal, id=self._id_value(raw_id))
        result = await conn.execute(statement, params)
        if result.first() is None:
            raise Problem(404, f"no {self.name} item {raw_id!r}")

    async def delete_many(
        self, conn: AsyncConnection, principal: Principal, raw_ids: Sequence[str]
    ) -> None:
        """Delete every one of ``raw_ids`` or none: 404 if any is missing (or not
        the caller's). Must run in a transaction, which the 404 rolls back."""
        if self.owner is None:
            raise Problem(403, f"{self.name} is read-only")
        if not 1 <= len(raw_ids) <= self.max_page_size:
            raise Problem(400, f"give 1 to {self.max_page_size} ids as ?id=...&id=...")
        ids = {self._id_value(raw) for raw in raw_ids}
        statement = self._statement(
            ("delete_many",),
            lambda: self._owned(
                sa.delete(self.table).where(
                    self.id.in_(sa.bindparam("_faasify_ids", expanding=True))
                )
            ).returning(self.id),
        )
        params = self._scope(principal, ids=sorted(ids))
        deleted = {row[0] for row in (await conn.execute(statement, params)).all()}
        missing = ids - deleted
        if missing:
            raise Problem(404, f"no {self.name} item {sorted(missing)[0]!r}: nothing was deleted")

    def schema(self) -> dict[str, Any]:
        """A JSON Schema of an item, for the OpenAPI document."""
        properties: dict[str, Any] = {}
        for column in self.table.columns:
            if self.owner is not None and column.name == self.owner.name:
                continue
            kind = _python_type(column)
            json_type = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
                kind or str, "string"
            )
            properties[column.name] = {"type": json_type}
        return {"type": "object", "properties": properties}
