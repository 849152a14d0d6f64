"""Instances on demand: scale out per request, reuse warm ones, scale to zero.

One request runs on one instance at a time, as on Lambda, or up to
``concurrency`` at a time, as on Lambda Managed Instances. A request that
finds no instance with room starts one (a cold start) while fewer than
``max_instances`` are alive; past that it waits up to ``queue_timeout`` for
room and is then throttled. An instance has room again when its process asks
for its next invocation: the work it does after an answer keeps it busy.
Idle instances are stopped after ``idle_timeout`` (SIGTERM, then SIGKILL
after ``grace``). The ``per-request`` process model starts a fresh process for
every request and stops it afterwards, for comparison.

Three more modes, as Lambda has them: ``invoke_mode="response-stream"`` (the
answer streams, :mod:`.streaming`), ``snapstart`` (init once, each instance
restored from that snapshot, :mod:`.snapshot`) and ``tenant_isolation`` (an
instance serves one tenant's requests only; an idle instance of another
tenant is stopped to make room).
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
from faasify.local.runtime.api import Invocation, read_error, read_error_type
from faasify.local.runtime.instance import (
    FunctionInstance,
    InitFailed,
    InvokeMode,
    InvokeTimedOut,
    RuntimeClient,
)
from faasify.local.runtime.metrics import RuntimeMetrics
from faasify.local.runtime.streaming import StreamedAnswer

__all__ = ["InvokeOutcome", "ProcessModel", "Scaler", "Throttled"]

logger = logging.getLogger("faasify.local")

ProcessModel = Literal["resident", "per-request"]
#: Work after an answer shorter than this is the loop's own step to ``next``,
#: not worth a log line.
_AFTER_NOTABLE_MS = 1.0


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
    #: The streamed answer, its head read, its body still coming.
    stream: StreamedAnswer | None = None
    #: The instance started from a snapshot: ``init_ms`` is its restore.
    restored: bool = False
    tenant: str | None = None
    #: Whether the instance's answer echoed its invocation id (``None``: no answer).
    echoed: bool | None = None
    #: The ``errorType`` the function reported with its error, when it named one.
    error_type: str | None = None


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
        invoke_mode: InvokeMode = "buffered",
        concurrency: int = 1,
        snapstart: bool = False,
        tenant_isolation: bool = False,
    ) -> None:
        if max_instances < 1:
            raise ValueError("max_instances must be at least 1")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
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
        self.invoke_mode: InvokeMode = invoke_mode
        self.concurrency = concurrency
        self.snapstart = snapstart
        self.tenant_isolation = tenant_isolation
        self.metrics = RuntimeMetrics()
        self.instances: list[FunctionInstance] = []
        self.started = 0
        self._idle: deque[FunctionInstance] = deque()  # alive, with room; newest last
        self._waiters: deque[tuple[str | None, asyncio.Future[FunctionInstance | None]]] = deque()
        self._starting = 0
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._snapshot: Any = None
        self._snapshot_lock: asyncio.Lock | None = None

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
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._snapshot is not None:
            await self._snapshot.stop(self.grace)
            self._snapshot = None
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
                if instance.active == 0 and now - instance.last_used >= self.idle_timeout:
                    logger.info(
                        "reaping %s after %.1fs idle", instance.id, now - instance.last_used
                    )
                    self._retire(instance, self.grace)

    # -- instances ---------------------------------------------------------------

    def _options(self, tenant: str | None) -> dict[str, Any]:
        return {
            "client": self.client,
            "cwd": self.cwd,
            "env": self.env,
            "concurrency": self.concurrency,
            "tenant": tenant,
            "invoke_mode": self.invoke_mode,
        }

    async def _take_snapshot(self) -> Any:
        """The snapshot instances restore from, taken (an init) if there is none alive."""
        from faasify.local.runtime.snapshot import Snapshot

        if self._snapshot_lock is None:
            self._snapshot_lock = asyncio.Lock()
        async with self._snapshot_lock:
            snapshot = self._snapshot
            if snapshot is None or not snapshot.alive:
                options = self._options(None)
                options["concurrency"] = 1
                snapshot = Snapshot(self.handler, **options)
                await snapshot.start(self.init_timeout)
                assert snapshot.init_ms is not None
                logger.info("snapshot taken after an init of %.1f ms", snapshot.init_ms)
                self.metrics.init.observe(snapshot.init_ms / 1000)
                self._snapshot = snapshot
            return snapshot

    async def _new_instance(self, number: int, tenant: str | None) -> FunctionInstance:
        if self.snapstart:
            from faasify.local.runtime.snapshot import RestoredInstance

            snapshot = await self._take_snapshot()
            options = self._options(tenant)
            return RestoredInstance(number, self.handler, snapshot=snapshot, **options)
        return FunctionInstance(number, self.handler, **self._options(tenant))

    async def _start_instance(self, tenant: str | None) -> FunctionInstance:
        self._starting += 1
        self.started += 1
        number = self.started
        self.metrics.cold_starts.inc()
        instance: FunctionInstance | None = None
        try:
            instance = await self._new_instance(number, tenant)
            self.instances.append(instance)
            await instance.start(self.init_timeout)
        except InitFailed:
            if instance is not None:
                with contextlib.suppress(ValueError):
                    self.instances.remove(instance)
            self._wake_one()
            raise
        finally:
            self._starting -= 1
            self._update_gauges()
        assert instance.init_ms is not None
        if not instance.restored:
            self.metrics.init.observe(instance.init_ms / 1000)
        return instance

    # -- routing ----------------------------------------------------------------

    def _take(self, instance: FunctionInstance) -> FunctionInstance:
        instance.active += 1
        instance.state = "busy"
        if instance.active >= instance.capacity:
            with contextlib.suppress(ValueError):
                self._idle.remove(instance)
        return instance

    def _room(self, tenant: str | None) -> FunctionInstance | None:
        for instance in reversed(self._idle):
            if instance.alive and instance.tenant == tenant:
                return instance
        return None

    def _evict_other_tenant(self, tenant: str | None) -> bool:
        """Stop an idle instance of another tenant to make room; whether there was one."""
        for instance in self._idle:
            if instance.tenant != tenant and instance.active == 0:
                logger.info("stopping %s (tenant %s) to make room", instance.id, instance.tenant)
                self._retire(instance, self.grace)
                return True
        return False

    async def _acquire(self, deadline: float, tenant: str | None) -> tuple[FunctionInstance, bool]:
        while True:
            if self.process_model == "resident":
                instance = self._room(tenant)
                if instance is not None:
                    return self._take(instance), False
            alive = [i for i in self.instances if i.alive]
            if len(alive) < self.max_instances:
                instance = self._take(await self._start_instance(tenant))
                self._offer(instance)
                return instance, True
            if self.tenant_isolation and self._evict_other_tenant(tenant):
                continue
            waiter: asyncio.Future[FunctionInstance | None] = (
                asyncio.get_running_loop().create_future()
            )
            entry = (tenant, waiter)
            self._waiters.append(entry)
            try:
                instance_or_none = await asyncio.wait_for(
                    waiter, max(0.0, deadline - time.monotonic())
                )
            except asyncio.TimeoutError:
                raise Throttled("every instance is busy") from None
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)
            if instance_or_none is not None and instance_or_none.alive:
                return instance_or_none, False

    def _wake_one(self) -> None:
        """A slot opened (an instance died or retired): let one waiter retry."""
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _offer(self, instance: FunctionInstance) -> bool:
        """Give ``instance``'s free slots to requests of its tenant waiting for one;
        whether it has none left. (A new instance of Managed Instances takes the
        requests that queued while it started.)"""
        for entry in list(self._waiters):
            if instance.active >= instance.capacity:
                return True
            tenant, waiter = entry
            if tenant == instance.tenant and not waiter.done():
                self._waiters.remove(entry)
                waiter.set_result(self._take(instance))
        if instance.active >= instance.capacity:
            return True
        if instance.active and instance not in self._idle:
            self._idle.append(instance)
        return False

    def _release(self, instance: FunctionInstance) -> None:
        """One of ``instance``'s invocations is over: its slot is free."""
        instance.active = max(0, instance.active - 1)
        instance.last_used = time.monotonic()
        if self.process_model == "per-request" or not instance.alive:
            if instance.active == 0:
                self._retire(instance, self.grace if instance.alive else 0.0)
            return
        if self._offer(instance):
            return
        if instance.active == 0:
            instance.state = "idle"
            if self.tenant_isolation and any(not w.done() for _, w in self._waiters):
                # Waiters of other tenants only: this instance's slot is theirs.
                self._retire(instance, self.grace)
                return
        if instance not in self._idle:
            self._idle.append(instance)
        self._update_gauges()

    async def check(self) -> float:
        """Start one throwaway instance, see its init through, and stop it.

        A wrong module path or an import that fails then shows when the runtime
        starts, not at the first request. With ``snapstart`` this takes the
        snapshot, which then stays. Returns the init time in milliseconds;
        raises :class:`InitFailed` with the reason.
        """
        if self.snapstart:
            snapshot = await self._take_snapshot()
            assert snapshot.init_ms is not None
            return float(snapshot.init_ms)
        options = self._options(None)
        instance = FunctionInstance(0, self.handler, **options)
        try:
            await instance.start(self.init_timeout)
        finally:
            await instance.stop(self.grace)
        assert instance.init_ms is not None
        return instance.init_ms

    # -- invokes --------------------------------------------------------------------

    async def invoke(
        self,
        event: object,
        *,
        tenant: str | None = None,
        label: str | None = None,
        queue_timeout: float | None = None,
        request_id: str | None = None,
    ) -> InvokeOutcome:
        """Run ``event`` on an instance and say how it went.

        The times add up to the request's: ``wait_ms`` queued for an instance,
        ``init_ms`` starting one (a cold start), ``duration_ms`` in the handler
        until its answer began. A streamed answer comes back with its head
        read: ``outcome.stream`` has the body, as it arrives. ``label`` names
        the request in the line logged about work after the answer. ``event`` is
        any JSON value (an HTTP event, or an Invoke API payload); ``queue_timeout``
        overrides how long it may wait for an instance (asynchronous invokes wait
        as long as their event may live, rather than being throttled), and
        ``request_id`` the id the function sees (an asynchronous event keeps its
        id across retries, as on Lambda).
        """
        arrived = time.monotonic()
        request_id = request_id or str(uuid.uuid4())
        waits = self.queue_timeout if queue_timeout is None else queue_timeout
        try:
            instance, cold = await self._acquire(arrived + waits, tenant)
        except Throttled as exc:
            waited = (time.monotonic() - arrived) * 1000
            self.metrics.wait.observe(waited / 1000)
            self.metrics.throttles.inc()
            self.metrics.invocations.labels("throttled").inc()
            return InvokeOutcome(
                request_id, 429, None, str(exc), None, False, None, waited, 0.0, tenant=tenant
            )
        except InitFailed as exc:
            self.metrics.invocations.labels("init_error").inc()
            logger.error("init failed: %s%s", exc, f"\n{exc.stack}" if exc.stack else "")
            spent = (time.monotonic() - arrived) * 1000
            return InvokeOutcome(
                request_id,
                502,
                None,
                f"init failed: {exc}",
                None,
                True,
                spent,
                0.0,
                0.0,
                tenant=tenant,
            )
        acquired = time.monotonic()
        init_ms = instance.init_ms if cold and instance.init_ms is not None else 0.0
        wait_ms = max(0.0, (acquired - arrived) * 1000 - init_ms)
        self.metrics.wait.observe(wait_ms / 1000)
        self._update_gauges()
        invocation = Invocation(
            json.dumps(event).encode(),
            deadline=time.time() + self.timeout,
            request_id=request_id,
            tenant_id=tenant,
        )
        result: dict[str, Any] | None = None
        error = stack = error_type = None
        stream = None
        try:
            await instance.submit(invocation, self.timeout)
        except InvokeTimedOut as exc:
            status, error, label_ = 504, str(exc), "timeout"
        else:
            kind, body = invocation.outcome.result()
            if kind == "stream":
                stream = invocation.stream
                assert stream is not None
                try:
                    status, _ = await asyncio.wait_for(
                        asyncio.shield(stream.head), max(0.0, invocation.deadline - time.time())
                    )
                    label_ = "ok"
                except asyncio.TimeoutError:
                    await self._expire(instance, invocation)
                    status, error, label_ = 504, "no head before the timeout", "timeout"
                    stream = None
                except Exception as exc:
                    status, error, label_, stream = 502, str(exc), "error", None
            elif kind == "response":
                status, result, label_ = 200, json.loads(body), "ok"
            else:
                status, label_ = 502, kind
                error, stack = read_error(body)
                error_type = read_error_type(body) if kind == "error" else None
        self._after(instance, invocation, stream, label)
        self.metrics.invocations.labels(label_).inc()
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
            stream=stream,
            restored=cold and instance.restored,
            tenant=tenant,
            echoed=invocation.echoed,
            error_type=error_type,
        )

    async def _expire(self, instance: FunctionInstance, invocation: Invocation) -> None:
        with contextlib.suppress(InvokeTimedOut):
            await instance.expire(invocation, self.timeout)

    def _after(
        self,
        instance: FunctionInstance,
        invocation: Invocation,
        stream: StreamedAnswer | None,
        label: str | None,
    ) -> None:
        """Free the instance's slot once the answer is whole (a stream past the
        timeout ends the instance, as a timed-out invoke does), and log the work
        after the answer when the process is back at ``next``.

        The slot is free at the end of the answer, not at that ``next``: a
        request that comes in between is queued on the instance (it waits for
        the work after the answer) rather than given a cold start of its own.
        """

        async def watch() -> None:
            released = False
            try:
                answered = time.monotonic()
                if stream is not None:
                    left = max(0.0, invocation.deadline - time.time())
                    try:
                        await asyncio.wait_for(asyncio.shield(stream.done), left)
                    except asyncio.TimeoutError:
                        logger.warning("%s: the stream ran past %gs", instance.id, self.timeout)
                        await self._expire(instance, invocation)
                    answered = time.monotonic()
                self._release(instance)
                released = True
                freed = await asyncio.shield(invocation.freed)
                after_ms = (freed - answered) * 1000
                if label is not None and instance.alive and after_ms >= _AFTER_NOTABLE_MS:
                    logger.info(
                        "after %s: %.1f ms of work after the answer on %s",
                        label,
                        after_ms,
                        instance.id,
                    )
            finally:
                if not released:
                    self._release(instance)

        if stream is None:
            # Nothing to wait for before the slot is free: free it now, in
            # order, before the caller's next request.
            self._release(instance)
            if label is None:
                return

            async def log_only() -> None:
                answered = time.monotonic()
                freed = await asyncio.shield(invocation.freed)
                after_ms = (freed - answered) * 1000
                if instance.alive and after_ms >= _AFTER_NOTABLE_MS:
                    logger.info(
                        "after %s: %.1f ms of work after the answer on %s",
                        label,
                        after_ms,
                        instance.id,
                    )

            task = asyncio.ensure_future(log_only())
        else:
            task = asyncio.ensure_future(watch())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
