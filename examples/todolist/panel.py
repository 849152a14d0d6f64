"""The panel: the three stages side by side, live, at ``/panel/``.

Every figure comes from where it is kept, read when the page asks (about once
a second):

* instances, their state and invocations: each stage's
  :class:`faasify.local.runtime.Scaler` (its instance list);
* cold starts, invocations, throttles: the scaler's Prometheus metrics, the
  same registry ``faasify local`` serves at ``/_faasify/metrics``;
* database connections: :mod:`examples.todolist.connections` (PostgreSQL's
  ``pg_stat_activity``, or the SQLite file's open handles);
* the last crowd: :func:`examples.todolist.crowd.run_crowd`, through the
  gateway like any request.

``POST /panel/api/crowd {"users": N}`` starts N users on every stage at once and
answers 202 at once: the page watches the figures move while they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from examples.todolist.connections import ConnectionCounter
from examples.todolist.crowd import CrowdResult, run_crowd
from examples.todolist.gateway import Gateway
from examples.todolist.settings import Stage

__all__ = ["MAX_USERS", "Panel"]

logger = logging.getLogger("examples.todolist")
STATIC = Path(__file__).parent / "panel_static"
#: The most users one click may start (per stage).
MAX_USERS = 32
TODOS_EACH = 5


def _sample(scaler: Any, name: str, labels: dict[str, str] | None = None) -> int:
    value = scaler.metrics.registry.get_sample_value(name, labels or {})
    return int(value or 0)


class Panel:
    """The panel's figures and its crowd, over a gateway and a connection counter."""

    def __init__(self, gateway: Gateway, counter: ConnectionCounter | None) -> None:
        self.gateway = gateway
        self.counter = counter
        self.crowd: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- figures ------------------------------------------------------------------------

    def _stage(self, stage: Stage) -> dict[str, Any]:
        scaler = self.gateway.scalers[stage]
        instances = [
            {
                "id": instance.id,
                "state": instance.state,
                "invocations": instance.invocations,
                "init_ms": None if instance.init_ms is None else round(instance.init_ms),
            }
            for instance in scaler.instances
            if instance.alive
        ]
        return {
            "running": len(instances),
            "busy": sum(1 for i in instances if i["state"] == "busy"),
            "max": scaler.max_instances,
            "instances": instances,
            "cold_starts": _sample(scaler, "faasify_local_cold_starts_total"),
            "invocations": sum(
                _sample(scaler, "faasify_local_invocations_total", {"outcome": outcome})
                for outcome in ("ok", "error", "crash", "timeout", "init_error", "throttled")
            ),
            "throttled": _sample(scaler, "faasify_local_throttles_total"),
        }

    async def _connections(self) -> dict[str, Any]:
        if self.counter is None:
            return {"counted": False, "source": None, "error": None}
        pids: dict[str, list[int]] = {
            stage: [i.process.pid for i in scaler.instances if i.alive and i.process is not None]
            for stage, scaler in self.gateway.scalers.items()
        }
        try:
            counted = await self.counter.count(pids)
        except Exception as exc:
            logger.warning("could not count the database connections: %s", exc)
            return {"counted": False, "source": self.counter.source, "error": str(exc)}
        return {
            "counted": True,
            "source": self.counter.source,
            "functions": counted.functions,
            "service": counted.service,
            "error": None,
        }

    async def figures(self) -> dict[str, Any]:
        return {
            "stages": {stage: self._stage(stage) for stage in self.gateway.scalers},
            "connections": await self._connections(),
            "crowd": self.crowd,
            "default": self.gateway.default,
            "idle_timeout": self.gateway.idle_timeout,
            "max_users": MAX_USERS,
        }

    # -- the crowd -----------------------------------------------------------------------

    def start_crowd(self, users: int) -> bool:
        """Start ``users`` users on every stage; False if a crowd is still running."""
        if self._task is not None and not self._task.done():
            return False
        prefix = f"crowd-{uuid.uuid4().hex[:6]}"
        self.crowd = {"running": True, "users": users, "todos_each": TODOS_EACH, "results": {}}
        self._task = asyncio.ensure_future(self._run(users, prefix))
        return True

    async def _run(self, users: int, prefix: str) -> None:
        assert self.crowd is not None
        crowd = self.crowd

        async def one(stage: Stage) -> None:
            def call(method: str, path: str, query: str, body: bytes, token: str | None) -> Any:
                headers = [("accept", "application/json"), ("content-type", "application/json")]
                if token:
                    headers.append(("authorization", f"Bearer {token}"))
                return self.gateway.call(stage, method, path, query, headers, body)

            try:
                result: CrowdResult = await run_crowd(
                    call, stage, users=users, todos_each=TODOS_EACH, prefix=f"{prefix}-{stage}"
                )
            except Exception as exc:  # shown on the panel, and logged in full
                logger.exception("the crowd on the %s stage failed", stage)
                crowd["results"][stage] = {"stage": stage, "error": str(exc)}
            else:
                crowd["results"][stage] = result.as_dict()

        try:
            await asyncio.gather(*(one(stage) for stage in self.gateway.scalers))
        finally:
            crowd["running"] = False

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.counter is not None:
            await self.counter.close()

    # -- HTTP ------------------------------------------------------------------------------

    def routes(self) -> list[Any]:
        async def page(request: Request) -> Response:
            return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

        async def figures(request: Request) -> Response:
            return JSONResponse(await self.figures(), headers={"cache-control": "no-store"})

        async def crowd(request: Request) -> Response:
            try:
                data = json.loads(await request.body() or b"{}")
                users = data.get("users") if isinstance(data, dict) else None
            except (ValueError, UnicodeDecodeError):
                users = None
            if not isinstance(users, int) or isinstance(users, bool) or not 1 <= users <= MAX_USERS:
                logger.info("panel: refused a crowd of %.80r users", users)
                return JSONResponse(
                    {"detail": f"users must be a whole number from 1 to {MAX_USERS}"}, 400
                )
            if not self.start_crowd(users):
                logger.info("panel: refused a crowd while one is running")
                return JSONResponse({"detail": "a crowd is still running"}, 409)
            return JSONResponse({"users": users, "stages": list(self.gateway.scalers)}, 202)

        return [
            Route("/", page),
            Route("/api/figures", figures),
            Route("/api/crowd", crowd, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="panel-static"),
        ]
