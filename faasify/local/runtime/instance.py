"""One function instance: a real process and the Runtime API listener it polls.

The process runs either faasify's own loop (``faasify.local.bootstrap``) or
AWS's ``awslambdaric``, unchanged; both only know ``AWS_LAMBDA_RUNTIME_API``.
Its init phase (imports, building the handler, lifespan startup) ends at its
first ``next`` call, which times the cold start.

An instance of Lambda Managed Instances (``concurrency`` above 1) gets
``AWS_LAMBDA_MAX_CONCURRENCY`` and ``AWS_LAMBDA_INITIALIZATION_TYPE``, as on
AWS, and serves that many invocations at once (faasify's loop and AWS's
client both start a worker process per concurrent request). A tenant's
instance serves that tenant only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import Literal, Protocol

from faasify._exceptions import InitFailed, InvokeTimedOut
from faasify.local.runtime import _http
from faasify.local.runtime.api import Invocation, RuntimeAPI, read_error

__all__ = ["FunctionInstance", "InitFailed", "InvokeMode", "InvokeTimedOut", "RuntimeClient"]

RuntimeClient = Literal["builtin", "awslambdaric"]
InvokeMode = Literal["buffered", "response-stream"]


# InitFailed and InvokeTimedOut live with faasify's other errors; they are
# re-exported here, where the runtime raises them.


class Process(Protocol):
    """What an instance needs of its process (a subprocess, or a restored copy)."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


class FunctionInstance:
    """A process serving invocations through its own Runtime API, ``capacity`` at a time."""

    def __init__(
        self,
        number: int,
        handler: str,
        *,
        client: RuntimeClient = "builtin",
        function_name: str = "faasify-local",
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        concurrency: int = 1,
        tenant: str | None = None,
        invoke_mode: InvokeMode = "buffered",
    ) -> None:
        self.id = f"instance-{number}"
        self.handler = handler
        self.client = client
        self.function_name = function_name
        self.cwd = cwd or os.getcwd()
        self.extra_env = env or {}
        self.capacity = concurrency
        self.tenant = tenant
        self.invoke_mode = invoke_mode
        self.api = RuntimeAPI(function_name, concurrency=concurrency)
        self.process: Process | None = None
        self.state: Literal["starting", "idle", "busy", "stopping", "dead"] = "starting"
        self.init_ms: float | None = None
        #: Whether the instance started from a snapshot (a restore, not an init).
        self.restored = False
        self.invocations = 0
        #: Invocations it holds now, answered or not, until its process asks for
        #: the next one.
        self.active = 0
        self.last_used = time.monotonic()
        self._listener: _http.Listener | None = None
        self._exited: asyncio.Future[int] | None = None

    def _command(self) -> list[str]:
        if self.client == "awslambdaric":
            module, _, attribute = self.handler.partition(":")
            return [sys.executable, "-m", "awslambdaric", f"{module}.{attribute}"]
        return [sys.executable, "-m", "faasify.local.bootstrap", self.handler]

    def environment(self, port: int) -> dict[str, str]:
        """The process's environment, as Lambda sets one up."""
        env = {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.id,
            "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
            "LAMBDA_TASK_ROOT": self.cwd,
            "_HANDLER": self.handler,
            "FAASIFY_INVOKE_MODE": self.invoke_mode,
            # The runtime prints init errors itself: the instance need not.
            "FAASIFY_LOCAL_RUNTIME": "1",
            "PYTHONPATH": os.pathsep.join(
                p for p in (self.cwd, os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        if self.capacity > 1:
            env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(self.capacity)
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
        else:
            env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
        env.update(self.extra_env)
        return env

    async def _spawn(self, env: dict[str, str]) -> Process:
        """Start the instance's process (in a process group of its own)."""
        process = await asyncio.create_subprocess_exec(
            *self._command(), cwd=self.cwd, env=env, start_new_session=True
        )
        return process

    async def start(self, init_timeout: float) -> None:
        """Start the process and wait for its init phase to end (or fail)."""
        started = time.monotonic()
        self._listener = _http.Listener(self.api.handle, self.api.streamer)
        await self._listener.start()
        self.process = process = await self._spawn(self.environment(self._listener.port))
        self._exited = asyncio.ensure_future(process.wait())
        ready = asyncio.ensure_future(self.api.ready.wait())
        failed = asyncio.ensure_future(self.api.init_failed.wait())
        done, _ = await asyncio.wait(
            {ready, failed, self._exited}, timeout=init_timeout, return_when="FIRST_COMPLETED"
        )
        for waiter in (ready, failed):
            if not waiter.done():
                waiter.cancel()
        if ready in done and not self._exited.done():
            self.init_ms = (time.monotonic() - started) * 1000
            self.state = "idle"
            self._exited.add_done_callback(self._on_exit)
            return
        stack = None
        if failed in done:
            reason, stack = read_error(self.api.init_error or b"")
            if self.restored:
                reason = f"the restore failed: {reason}"
        elif self._exited.done():
            reason = f"the process exited with code {self._exited.result()} during init"
        else:
            reason = f"init did not finish within {init_timeout:g}s"
        await self.stop(grace=0.5)
        raise InitFailed(reason, stack)

    def _on_exit(self, task: asyncio.Future[int]) -> None:
        if self.state != "stopping":
            self.state = "dead"
        code = task.result() if not task.cancelled() else None
        self.api.fail_pending(f"the instance process exited with code {code}".encode())

    async def submit(self, invocation: Invocation, timeout: float) -> Invocation:
        """Hand ``invocation`` to the process and wait until its answer begins.

        Raises :class:`InvokeTimedOut` past ``timeout``: the process is killed,
        as Lambda ends an environment whose invoke timed out, except on Managed
        Instances, where the invoke alone fails and the process runs on.
        """
        assert self._exited is not None
        self.invocations += 1
        await self.api.inbox.put(invocation)
        try:
            await asyncio.wait_for(asyncio.shield(invocation.outcome), timeout)
        except asyncio.TimeoutError:
            await self.expire(invocation, timeout)
        finally:
            self.last_used = time.monotonic()
        return invocation

    async def expire(self, invocation: Invocation, timeout: float) -> None:
        """``invocation`` ran past ``timeout``: end it (and the process, but on Managed
        Instances) and raise :class:`InvokeTimedOut`."""
        if self.capacity > 1:
            self.api.forget(invocation)
            raise InvokeTimedOut(f"{self.id} ran past {timeout:g}s on one invocation")
        await self.stop(grace=0.0)
        raise InvokeTimedOut(f"{self.id} ran past {timeout:g}s and was killed")

    async def invoke(
        self, event: bytes, timeout: float, request_id: str | None = None
    ) -> tuple[str, bytes]:
        """Hand ``event`` to the process and wait for its outcome.

        Returns ``("response" | "error" | "crash", body)``; raises
        :class:`InvokeTimedOut` (after killing the process) past ``timeout``.
        """
        invocation = Invocation(event, deadline=time.time() + timeout)
        if request_id:
            invocation.request_id = request_id
        self.state = "busy"
        try:
            await self.submit(invocation, timeout)
        finally:
            if self.state == "busy":
                self.state = "idle"
        return invocation.outcome.result()

    @property
    def alive(self) -> bool:
        return self.state in ("starting", "idle", "busy")

    def _signal(self, signum: int) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        # The whole process group: a Managed Instances parent and its workers.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)

    async def stop(self, grace: float) -> None:
        """SIGTERM (the instance runs its shutdown), then SIGKILL after ``grace``."""
        self.state = "stopping"
        process = self.process
        if process is not None and process.returncode is None:
            self._signal(signal.SIGTERM if grace > 0 else signal.SIGKILL)
            try:
                await asyncio.wait_for(asyncio.shield(self._wait()), grace or 5.0)
            except asyncio.TimeoutError:
                self._signal(signal.SIGKILL)
                await self._wait()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        self.api.fail_pending(b"the instance was stopped")
        self.state = "dead"

    async def _wait(self) -> int:
        if self._exited is not None:
            return await asyncio.shield(self._exited)
        assert self.process is not None
        return await self.process.wait()
