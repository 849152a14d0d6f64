"""The todo API, once, for both frameworks.

:class:`TodoAPI` holds what the routes do: check the token, validate the body,
call the store, shape the answer. ``flask_app`` and ``fastapi_app`` only map
:data:`ROUTES` onto their framework and turn a :class:`Reply` or a
:class:`Problem` into a response, so the two apps cannot drift apart.

Two shapes of the same todos are served:

* the native API (``/api/todos``), used by the page: keyset pagination;
* the course API (``/api/rule``, ``/api/currentUser``) of the course todolist's
  Ant Design Pro front end: page numbers and a total. Its shapes are kept, its
  bugs are not: keys come from the database, pages are real, an unknown key is a
  404, a delete answers the list as it is after the delete, and every failure
  is a problem+json answer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

import jwt

from examples.todolist.model import StoreError, Todo, Unavailable, User
from examples.todolist.stores import Store

__all__ = ["MAX_TEXT", "ROUTES", "Problem", "Reply", "Route", "TodoAPI"]

logger = logging.getLogger("examples.todolist")

MAX_TEXT = 500
MAX_PAGE = 100
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


@dataclass
class Reply:
    """What a route answers: a status, a JSON body (``None`` for none), headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Problem(Exception):
    """An error answered as RFC 9457 ``application/problem+json``."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }

    @classmethod
    def for_status(cls, status: int, headers: Mapping[str, str] | None = None) -> Problem:
        """The framework's own refusals (no route, wrong method), worded alike in both."""
        detail = {404: "no such resource", 405: "this method is not allowed here"}.get(
            status, HTTPStatus(status).phrase
        )
        return cls(status, detail, headers)

    @classmethod
    def from_store(cls, error: StoreError) -> Problem:
        headers = {}
        if isinstance(error, Unavailable):
            headers["Retry-After"] = str(max(1, round(error.retry_after)))
        if error.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return cls(error.status, error.detail, headers)


UNEXPECTED = Problem(500, "the function failed; see its logs")


# -- validation -------------------------------------------------------------------------


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "the body is not valid JSON") from None
    except RecursionError:
        # json.loads recurses once per nesting level: ``[[[[...`` exhausts the stack.
        raise Problem(400, "the body is nested too deeply") from None
    if not isinstance(data, dict):
        raise Problem(400, "the body must be a JSON object")
    return data


def _fields(
    data: Mapping[str, Any], types: Mapping[str, type | tuple[type, ...]]
) -> dict[str, Any]:
    """``data`` checked against ``types``: 400 for an unknown field or a wrong type."""
    unknown = sorted(set(data) - set(types))
    if unknown:
        raise Problem(400, f"unknown field(s): {', '.join(unknown)}")
    for name, value in data.items():
        kind = types[name]
        wrong_bool = isinstance(value, bool) and kind is int
        if not isinstance(value, kind) or wrong_bool:
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise Problem(400, f"field {name!r} must be a {_JSON_NAMES.get(names, names)}")
    return dict(data)


_JSON_NAMES = {"str": "string", "bool": "boolean", "int": "integer", "list": "list"}


def _storable(value: str, name: str) -> str:
    """``value`` if every store can keep it and every framework can answer it.

    JSON lets a body carry what UTF-8 cannot: a lone surrogate (``"\\ud800"``)
    fails when the answer is encoded, and NUL (``"\\u0000"``) is refused by
    PostgreSQL's text columns. Both are refused here, before any store sees them.
    """
    if "\x00" in value:
        raise Problem(422, f"{name} may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Problem(422, f"{name} is not valid Unicode text") from None
    return value


def _text(value: str, name: str = "text") -> str:
    text = _storable(value, name).strip()
    if not text:
        raise Problem(422, f"{name} may not be empty")
    if len(text) > MAX_TEXT:
        raise Problem(422, f"{name} is longer than {MAX_TEXT} characters")
    return text


def _desc(value: str) -> str:
    if len(_storable(value, "desc")) > MAX_TEXT:
        raise Problem(422, f"desc is longer than {MAX_TEXT} characters")
    return value


def _digits(raw: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²" or "٣", which ``int`` refuses
    or reads as another number."""
    return raw.isascii() and raw.isdigit()


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not _digits(raw) or len(raw) > 18 or not low <= int(raw) <= high:
        raise Problem(400, f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _todo_id(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _digits(raw) and len(raw) < 19:
        value = int(raw)
    else:
        raise Problem(404, f"no todo {raw}")
    if not 0 < value < 2**63:
        raise Problem(404, f"no todo {raw}")
    return value


# -- shapes -------------------------------------------------------------------------------


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def native(todo: Todo) -> dict[str, Any]:
    """A todo as the native API (and the page) sees it."""
    return {
        "id": todo.id,
        "text": todo.text,
        "done": todo.done,
        "createdAt": _iso(todo.created_at),
        "updatedAt": _iso(todo.updated_at),
    }


def rule(todo: Todo) -> dict[str, Any]:
    """A todo as the course API's front end sees it (a "rule")."""
    return {
        "key": todo.id,
        "name": todo.text,
        "desc": todo.desc,
        "owner": todo.owner,
        "status": 1 if todo.done else 0,
        "createdAt": _iso(todo.created_at),
        "updatedAt": _iso(todo.updated_at),
        "progress": 100 if todo.done else 0,
        "disabled": False,
        "href": "",
        "avatar": "",
        "callNo": 0,
    }


# -- the routes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """``path`` uses ``{name}`` for a path parameter; ``action`` names a TodoAPI method."""

    method: str
    path: str
    action: str
    authenticated: bool = True


ROUTES: tuple[Route, ...] = (
    Route("POST", "/api/login", "login", authenticated=False),
    Route("GET", "/api/currentUser", "current_user"),
    Route("GET", "/api/todos", "list_todos"),
    Route("POST", "/api/todos", "create_todo"),
    Route("PATCH", "/api/todos/{todo_id}", "update_todo"),
    Route("DELETE", "/api/todos/{todo_id}", "delete_todo"),
    Route("GET", "/api/rule", "list_rules"),
    Route("POST", "/api/rule", "create_rule"),
    Route("PUT", "/api/rule", "update_rule"),
    Route("DELETE", "/api/rule", "delete_rules"),
)


@dataclass
class Call:
    """One request, as the framework hands it over."""

    user: User | None
    query: Mapping[str, str]
    body: bytes
    path: Mapping[str, str]


class TodoAPI:
    """Every route of the API over one store. Built once per instance."""

    def __init__(
        self, store: Store, secret: str, token_ttl: int = 12 * 3600, stage: str = ""
    ) -> None:
        self.store = store
        self.stage = stage  # shown by the page, so a reader sees which architecture answers
        self._secret = secret
        self._token_ttl = token_ttl

    async def dispatch(self, route: Route, call: Call) -> Reply:
        """Run ``route``: its store errors become problems; anything else is the
        framework's to log and answer with a generic 500."""
        action: Callable[[Call], Awaitable[Reply]] = getattr(self, route.action)
        try:
            return await action(call)
        except StoreError as error:
            raise Problem.from_store(error) from error

    # -- identity ------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> User:
        """The user a ``Bearer`` token names; 401 if it is missing, expired or forged."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        challenge = {"WWW-Authenticate": "Bearer"}
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "log in first: send Authorization: Bearer <token>", challenge)
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError as exc:
            # The reason stays in the log: a caller probing tokens learns nothing from it.
            logger.info("refused a token: %s", exc)
            raise Problem(401, "the token is not valid", challenge) from None
        return User(name=str(claims["sub"]), token=token)

    def issue_token(self, username: str) -> str:
        issued = dt.datetime.now(dt.timezone.utc)
        claims = {
            "sub": username,
            "iat": issued,
            "exp": issued + dt.timedelta(seconds=self._token_ttl),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def _profile(self, name: str) -> dict[str, Any]:
        # The stage rides along, so the page can name the architecture that answers
        # from the first answer it gets, sign-in included.
        return {"name": name, "userid": name, "avatar": "", "access": "user", "stage": self.stage}

    async def login(self, call: Call) -> Reply:
        data = _fields(_json_object(call.body), {"username": str})
        username = data.get("username", "").strip()
        if not _USERNAME.fullmatch(username):
            raise Problem(422, "username must be 1 to 64 letters, digits or . _ @ -")
        return Reply(200, {"token": self.issue_token(username), "user": self._profile(username)})

    async def current_user(self, call: Call) -> Reply:
        assert call.user is not None
        return Reply(200, {"success": True, "data": self._profile(call.user.name)})

    # -- the native API ----------------------------------------------------------------------

    async def list_todos(self, call: Call) -> Reply:
        assert call.user is not None
        unknown = sorted(set(call.query) - {"limit", "cursor"})
        if unknown:
            raise Problem(400, f"unknown parameter(s): {', '.join(unknown)}")
        limit = _int_param(call.query, "limit", 20, 1, MAX_PAGE)
        page = await self.store.list(call.user, limit, call.query.get("cursor") or None)
        return Reply(200, {"items": [native(t) for t in page.items], "next": page.next})

    async def create_todo(self, call: Call) -> Reply:
        assert call.user is not None
        data = _fields(_json_object(call.body), {"text": str})
        if "text" not in data:
            raise Problem(422, "text is required")
        todo = await self.store.create(call.user, _text(data["text"]))
        return Reply(201, native(todo))

    async def update_todo(self, call: Call) -> Reply:
        assert call.user is not None
        todo_id = _todo_id(call.path["todo_id"])
        data = _fields(_json_object(call.body), {"text": str, "done": bool})
        if not data:
            raise Problem(422, "nothing to change: send text and/or done")
        if "text" in data:
            data["text"] = _text(data["text"])
        return Reply(200, native(await self.store.update(call.user, todo_id, data)))

    async def delete_todo(self, call: Call) -> Reply:
        assert call.user is not None
        await self.store.delete(call.user, [_todo_id(call.path["todo_id"])])
        return Reply(204)

    # -- the course API ------------------------------------------------------------------------

    async def _rules_page(self, user: User, current: int, page_size: int) -> tuple[list[Any], int]:
        items, total = await self.store.page(user, (current - 1) * page_size, page_size)
        return [rule(t) for t in items], total

    async def list_rules(self, call: Call) -> Reply:
        assert call.user is not None
        current = _int_param(call.query, "current", 1, 1, 10**6)
        page_size = _int_param(call.query, "pageSize", 10, 1, MAX_PAGE)
        data, total = await self._rules_page(call.user, current, page_size)
        body = {
            "data": data,
            "total": total,
            "success": True,
            "pageSize": page_size,
            "current": current,
        }
        return Reply(200, body)

    # The course's Ant Design Pro front end adds a "method" field to its bodies.
    _RULE_EXTRA: ClassVar[dict[str, type]] = {"method": str}

    async def create_rule(self, call: Call) -> Reply:
        assert call.user is not None
        data = _fields(_json_object(call.body), {"name": str, "desc": str, **self._RULE_EXTRA})
        if "name" not in data:
            raise Problem(422, "name is required")
        todo = await self.store.create(
            call.user, _text(data["name"], "name"), _desc(data.get("desc", ""))
        )
        return Reply(200, rule(todo))

    async def update_rule(self, call: Call) -> Reply:
        assert call.user is not None
        types = {"key": int, "name": str, "desc": str, "status": int, **self._RULE_EXTRA}
        data = _fields(_json_object(call.body), types)
        if "key" not in data:
            raise Problem(422, "key is required")
        changes: dict[str, Any] = {}
        if "name" in data:
            changes["text"] = _text(data["name"], "name")
        if "desc" in data:
            changes["desc"] = _desc(data["desc"])
        if "status" in data:
            if data["status"] not in (0, 1):
                raise Problem(422, "status must be 0 (open) or 1 (done)")
            changes["done"] = data["status"] == 1
        if not changes:
            raise Problem(422, "nothing to change: send name, desc and/or status")
        return Reply(200, rule(await self.store.update(call.user, _todo_id(data["key"]), changes)))

    async def delete_rules(self, call: Call) -> Reply:
        assert call.user is not None
        data = _fields(_json_object(call.body), {"key": list, **self._RULE_EXTRA})
        keys = data.get("key")
        if not keys:
            raise Problem(422, "key must list at least one key")
        if len(keys) > MAX_PAGE:
            raise Problem(422, f"delete at most {MAX_PAGE} keys at once")
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            raise Problem(400, "key must be a list of integers")
        await self.store.delete(call.user, [_todo_id(k) for k in keys])
        page_size = 10
        listed, total = await self._rules_page(call.user, 1, page_size)
        body = {"list": listed, "pagination": {"total": total, "pageSize": page_size, "current": 1}}
        return Reply(200, body)
