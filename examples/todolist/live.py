"""Live changes: a todolist page hears of changes made in another tab, over a WebSocket API.

The page opens a WebSocket to ``live?token=...``. Behind API Gateway's WebSocket
API (or ``faasify local``, which plays one) each socket event is an invoke of
the same function: ``$connect`` checks the token and notes the connection under
its user, ``$disconnect`` forgets it. When one of the user's HTTP requests
changes a todo, :meth:`LiveChanges.changed` sends a short ``{"changed": ...}``
message to each of the user's connections through ``@connections``, and the
pages reload their list.

It is on where ``TODO_LIVE=1`` says so (answers then carry ``X-Todo-Live: on``,
and only then does the page open its socket). A page names itself with a
random ``X-Todo-Tab`` header and ``tab`` parameter, so that the tab that made
a change is not told of it. The connections are noted in Redis when
``REDIS_URL`` is set (through
:class:`faasify.pools.RedisPool`, so that every instance sees them), and in
this instance's memory otherwise, which is enough for one instance
(``faasify local --max-instances 1``). Without a ``@connections`` endpoint
(``FAASIFY_CONNECTIONS_ENDPOINT``, set by ``faasify local``, or
``TODO_CONNECTIONS_ENDPOINT`` for a deployed API) the page simply gets no news.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from examples.todolist.api import Problem, TodoAPI

__all__ = ["LiveChanges"]

logger = logging.getLogger("examples.todolist.live")
_KEY = "todolist:live:"


class LiveChanges:
    """Who is listening (connection ids per user), and telling them of changes."""

    def __init__(
        self,
        redis_url: str | None = None,
        endpoint: str | None = None,
        connections: Any = None,
        *,
        enabled: bool = True,
    ) -> None:
        #: Whether pages should listen (``X-Todo-Live: on`` on every answer).
        self.enabled = enabled
        self._redis: Any = None
        if redis_url:
            from faasify.pools import RedisPool

            self._redis = RedisPool(redis_url)
        self._memory: dict[str, set[str]] = {}
        self._owners: dict[str, str] = {}
        self._endpoint = (
            endpoint
            or os.environ.get("TODO_CONNECTIONS_ENDPOINT")
            or os.environ.get("FAASIFY_CONNECTIONS_ENDPOINT")
        )
        self._connections: Any = connections  # else made from the endpoint on first use

    @classmethod
    def from_env(cls) -> LiveChanges:
        on = os.environ.get("TODO_LIVE", "").lower() in ("1", "true", "yes", "on")
        return cls(os.environ.get("REDIS_URL") or None, enabled=on)

    async def _ids(self, user: str) -> set[str]:
        """``"{connection id} {tab}"`` for each of ``user``'s listening pages."""
        if self._redis is not None:
            return {m.decode() for m in await self._redis.client.smembers(_KEY + user)}
        return set(self._memory.get(user, ()))

    async def listen(self, user: str, connection_id: str, tab: str = "") -> None:
        member = f"{connection_id} {tab}"
        if self._redis is not None:
            await self._redis.client.sadd(_KEY + user, member)
            await self._redis.client.hset(_KEY + "owners", connection_id, f"{user} {tab}")
        else:
            self._memory.setdefault(user, set()).add(member)
            self._owners[connection_id] = f"{user} {tab}"

    async def owner(self, connection_id: str) -> tuple[str, str] | None:
        """``(user, tab)`` a connection was opened for (at ``$connect``, with a token)."""
        if self._redis is not None:
            found = await self._redis.client.hget(_KEY + "owners", connection_id)
            text = found.decode() if found else None
        else:
            text = self._owners.get(connection_id)
        if text is None:
            return None
        user, _, tab = text.rpartition(" ")
        return user, tab

    async def forget(self, user: str, connection_id: str, tab: str = "") -> None:
        member = f"{connection_id} {tab}"
        if self._redis is not None:
            await self._redis.client.srem(_KEY + user, member)
            await self._redis.client.hdel(_KEY + "owners", connection_id)
        else:
            self._memory.get(user, set()).discard(member)
            self._owners.pop(connection_id, None)

    def _client(self) -> Any:
        if self._connections is None and self._endpoint:
            from faasify.adapters.aws.websocket import connections_for

            self._connections = connections_for(self._endpoint)
        return self._connections

    async def changed(self, user: str, what: str, tab: str | None = None) -> None:
        """Tell each of ``user``'s pages (but ``tab``, which made it) that ``what``
        happened; a page that is gone is forgotten."""
        client = self._client() if self.enabled else None
        if client is None:
            return
        from faasify.adapters.aws.websocket import ConnectionGoneError, ConnectionsError

        message = json.dumps({"changed": what}).encode()
        for member in await self._ids(user):
            connection_id, _, listener = member.partition(" ")
            if tab and listener == tab:
                continue
            try:
                await client.send(connection_id, message)
            except ConnectionGoneError:
                await self.forget(user, connection_id, listener)
            except ConnectionsError as exc:  # news is best effort: the change itself stands
                logger.warning("could not tell %s of a change: %s", connection_id, exc)

    def route(self, api: Callable[[WebSocket], TodoAPI], path: str = "/live") -> WebSocketRoute:
        """The websocket route: ``$connect`` checks the token, the rest keeps the books."""

        async def live(websocket: WebSocket) -> None:
            connection_id = websocket.scope.get("aws.connection_id")
            if connection_id is None:  # a plain server, not a WebSocket API: no news here
                await websocket.close()
                return
            if websocket.scope.get("aws.event_type") == "CONNECT":
                # Only the handshake carries the token: check it, and note whose it is.
                try:
                    user = (
                        api(websocket)
                        .authenticate("Bearer " + websocket.query_params.get("token", ""))
                        .name
                    )
                except Problem:
                    await websocket.close()  # $connect refused: a 403 for the page
                    return
                if not self.enabled:
                    await websocket.close()
                    return
                tab = websocket.query_params.get("tab", "")[:64].replace(" ", "")
                await websocket.accept()
                await self.listen(user, connection_id, tab)
            else:
                found = await self.owner(connection_id)
                if found is None:
                    await websocket.close()
                    return
                user, tab = found
                await websocket.accept()
            try:
                while True:
                    await websocket.receive_text()  # the page sends nothing but pings
            except WebSocketDisconnect:
                await self.forget(user, connection_id, tab)

        return WebSocketRoute(path, live)
