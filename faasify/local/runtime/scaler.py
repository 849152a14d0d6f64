"""Instances on demand: scale out per request, reuse warm ones, scale to zero.

One request runs on one instance at a time, as on Lambda. A request that finds
no idle instance starts one (a cold start) while fewer than ``max_instances``
are alive; past that it waits up to ``queue_timeout`` for one to come free and
is then throttled. Idle instances are stopped after ``idle_timeout`` (SIGTERM,
then SIGKILL after ``grace``). The ``per-request`` process model starts a fresh
process for every request and stops it afterwards, for comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from faasify._exceptions import InstancesBusy
from faasify.local.runtime.api import read_error
from faasify.local.runtime.instance import (
    FunctionInstance,
    InitFailed,
    InvokeTimedOut,
    RuntimeClient,
)
from faasify.local.runtime.metrics import RuntimeMetrics

__all__ = ["InvokeOutcome", "ProcessModel", "Scaler", "Throttled"]

logger = logging.getLogger("faasify.local")

ProcessModel = Literal["resident", "per-request"]


class Throttled(InstancesBusy):
    """Every instance stayed busy past the queue timeout (Lambda's 429)."""


@dataclass
class InvokeOutcome:
    """What an invoke came to: an HTTP status for the runtime to answer with."""

    request_id: str
    status: int
    result: dict[str, Any] | None
    error: str | None
    instance: str | None
    cold: bool
    init_ms: float | None
    wait_ms: float
    duration_ms: float
    #: The handler's stack trace when it raised (for the log, never the client).
    stack: str | None = None


class Scaler:
    """Owns the instances of one function and routes invokes to them."""

    def __init__(
        self,
        handler: str,
        *,
        max_instances: int = 4,
        idle_timeout: float = 60.0,
        timeout: float = 30.0,
        init_timeout: float = 30.0,
        queue_timeout: float = 5.0,
        grace: float = 2.0,
        process_model: ProcessModel = "resident",
        client: RuntimeClient = "builtin",
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        if max_instances < 1:
            raise ValueError("max_instances must be at least 1")
        self.handler = handler
        self.max_instances = max_instances
        self.idle_timeout = idle_timeout
        self.timeout = timeout
        self.init_timeout = init_timeout
        self.queue_timeout = queue_timeout
        self.grace = grace
        self.process_model = process_model
        self.client = client
        self.cwd = cwd
        self.env = env
        self.metrics = RuntimeMetrics()
        self.instances: list[FunctionInstance] = []
        self.started = 0
        self._idle: deque[FunctionInstance] = deque()
        self._waiters: deque[asyncio.Future[FunctionInstance | None]] = deque()
        self._starting = 0
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    # -- life -----------------------------------------------------------------

    async def start(self) -> None:
        self._reaper = asyncio.ensure_future(self._reap_forever())

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(*(i.stop(self.grace) for i in self.instances))
        await asyncio.gather(*self._stopping, return_exceptions=True)
        self.instances.clear()
        self._idle.clear()
        self._update_gauges()

    @property
    def alive(self) -> int:
        return sum(1 for i in self.instances if i.alive)

    @property
    def busy(self) -> int:
        return sum(1 for i in self.instances if i.state == "busy")

    def _update_gauges(self) -> None:
        self.metrics.instances.set(self.alive)
        self.metrics.busy.set(self.busy)

    def _retire(self, instance: FunctionInstance, grace: float) -> None:
        with contextlib.suppress(ValueError):
            self.instances.remove(instance)
        with contextlib.suppress(ValueError):
            self._idle.remove(instance)
        task = asyncio.ensure_future(instance.stop(grace))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
        self._update_gauges()
        self._wake_one()

    async def _reap_forever(self) -> None:
        period = max(0.05, min(1.0, self.idle_timeout / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for instance in list(self._idle):
                if now - instance.last_used >= self.idle_timeout:
                    logger.info(
                        "reaping %s after %.1fs idle", instance.id, now - instance.last_used
                    )
                    self._retire(instance, self.grace)

    # -- routing ----------------------------------------------------------------

    async def _start_instance(self) -> FunctionInstance:
        self._starting += 1
        self.started += 1
        instance = FunctionInstance(
            self.started, self.handler, client=self.client, cwd=self.cwd, env=self.env
        )
        self.instances.append(instance)
        self.metrics.cold_starts.inc()
        try:
            await instance.start(self.init_timeout)
        except InitFailed:
            with contextlib.suppress(ValueError):
                self.instances.remove(instance)
            self._wake_one()
            raise
        finally:
            self._starting -= 1
            self._update_gauges()
        assert instance.init_ms is not None
        self.metrics.init.observe(instance.init_ms / 1000)
        return instance

    async def _acquire(self, deadline: float) -> tuple[FunctionInstance, bool]:
        while True:
            if self.process_model == "resident":
                while self._idle:
                    instance = self._idle.pop()
                    if instance.alive:
                        return instance, False
            if len([i for i in self.instances if i.alive]) < self.max_instances:
                return await self._start_instance(), True
            waiter: asyncio.Future[FunctionInstance | None] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiters.append(waiter)
            try:
                instance_or_none = await asyncio.wait_for(
                    waiter, max(0.0, deadline - time.monotonic())
                )
            except asyncio.TimeoutError:
                raise Throttled("every instance is busy") from None
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if instance_or_none is not None and instance_or_none.alive:
                return instance_or_none, False

    def _wake_one(self) -> None:
        """A slot opened (an instance died or retired): let one waiter retry."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _release(self, instance: FunctionInstance) -> None:
        if self.process_model == "per-request" or not instance.alive:
            self._retire(instance, self.grace if instance.alive else 0.0)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                instance.state = "busy"
                waiter.set_result(instance)
                return
        self._idle.append(instance)
        self._update_gauges()

    async def check(self) -> float:
        """Start one throwaway instance, see its init through, and stop it.

        A wrong module path or an import that fails then shows when the runtime
        starts, not at the first request. Returns the instance's init time in
        milliseconds; raises :class:`InitFailed` with the reason.
        """
        instance = FunctionInstance(0, self.handler, client=self.client, cwd=self.cwd, env=self.env)
        try:
            await instance.start(self.init_timeout)
        finally:
            await instance.stop(self.grace)
        assert instance.init_ms is not None
        return instance.init_ms

    async def invoke(self, event: dict[str, Any]) -> InvokeOutcome:
        """Run ``event`` on an instance and say how it went.

        The times add up to the request's: ``wait_ms`` queued for an instance,
        ``init_ms`` starting one (a cold start), ``duration_ms`` in the handler.
        """
        arrived = time.monotonic()
        request_id = str(uuid.uuid4())
        try:
            instance, cold = await self._acquire(arrived + self.queue_timeout)
        except Throttled as exc:
            waited = (time.monotonic() - arrived) * 1000
            self.metrics.wait.observe(waited / 1000)
            self.metrics.throttles.inc()
            self.metrics.invocations.labels("throttled").inc()
            return InvokeOutcome(request_id, 429, None, str(exc), None, False, None, waited, 0.0)
        except InitFailed as exc:
            self.metrics.invocations.labels("init_error").inc()
            logger.error("init failed: %s%s", exc, f"\n{exc.stack}" if exc.stack else "")
            spent = (time.monotonic() - arrived) * 1000
            return InvokeOutcome(
                request_id, 502, None, f"init failed: {exc}", None, True, spent, 0.0, 0.0
            )
        acquired = time.monotonic()
        init_ms = instance.init_ms if cold and instance.init_ms is not None else 0.0
        wait_ms = max(0.0, (acquired - arrived) * 1000 - init_ms)
        self.metrics.wait.observe(wait_ms / 1000)
        instance.state = "busy"
        self._update_gauges()
        result: dict[str, Any] | None = None
        error = stack = None
        try:
            kind, body = await instance.invoke(json.dumps(event).encode(), self.timeout, request_id)
        except InvokeTimedOut as exc:
            status, error, label = 504, str(exc), "timeout"
        else:
            if kind == "response":
                status, result, label = 200, json.loads(body), "ok"
            else:
                status, label = 502, kind
                error, stack = read_error(body)
        finally:
            self._release(instance)
        self.metrics.invocations.labels(label).inc()
        return InvokeOutcome(
            request_id=request_id,
            status=status,
            result=result,
            error=error,
            instance=instance.id,
            cold=cold,
            init_ms=init_ms if cold else None,
            wait_ms=wait_ms,
            duration_ms=(time.monotonic() - acquired) * 1000,
            stack=stack,
        )
