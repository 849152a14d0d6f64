"""One function instance: a real process and the Runtime API listener it polls.

The process runs either faasify's own loop (``faasify.local.bootstrap``) or
AWS's ``awslambdaric``, unchanged; both only know ``AWS_LAMBDA_RUNTIME_API``.
Its init phase (imports, building the handler, lifespan startup) ends at its
first ``next`` call, which times the cold start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import Literal

from faasify._exceptions import InitFailed, InvokeTimedOut
from faasify.local.runtime import _http
from faasify.local.runtime.api import Invocation, RuntimeAPI, read_error

__all__ = ["FunctionInstance", "InitFailed", "InvokeTimedOut", "RuntimeClient"]

RuntimeClient = Literal["builtin", "awslambdaric"]


# InitFailed and InvokeTimedOut live with faasify's other errors; they are
# re-exported here, where the runtime raises them.


class FunctionInstance:
    """A process serving one invocation at a time through its own Runtime API."""

    def __init__(
        self,
        number: int,
        handler: str,
        *,
        client: RuntimeClient = "builtin",
        function_name: str = "faasify-local",
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.id = f"instance-{number}"
        self.handler = handler
        self.client = client
        self.function_name = function_name
        self.cwd = cwd or os.getcwd()
        self.extra_env = env or {}
        self.api = RuntimeAPI(function_name)
        self.process: asyncio.subprocess.Process | None = None
        self.state: Literal["starting", "idle", "busy", "stopping", "dead"] = "starting"
        self.init_ms: float | None = None
        self.invocations = 0
        self.last_used = time.monotonic()
        self._listener: _http.Listener | None = None
        self._exited: asyncio.Task[int] | None = None

    def _command(self) -> list[str]:
        if self.client == "awslambdaric":
            module, _, attribute = self.handler.partition(":")
            return [sys.executable, "-m", "awslambdaric", f"{module}.{attribute}"]
        return [sys.executable, "-m", "faasify.local.bootstrap", self.handler]

    async def start(self, init_timeout: float) -> None:
        """Start the process and wait for its init phase to end (or fail)."""
        started = time.monotonic()
        self._listener = _http.Listener(self.api.handle)
        await self._listener.start()
        port = self._listener.port
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
            "PYTHONPATH": os.pathsep.join(
                p for p in (self.cwd, os.environ.get("PYTHONPATH", "")) if p
            ),
            **self.extra_env,
        }
        self.process = await asyncio.create_subprocess_exec(
            *self._command(), cwd=self.cwd, env=env, start_new_session=True
        )
        self._exited = asyncio.ensure_future(self.process.wait())
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
        elif self._exited.done():
            reason = f"the process exited with code {self._exited.result()} during init"
        else:
            reason = f"init did not finish within {init_timeout:g}s"
        await self.stop(grace=0.5)
        raise InitFailed(reason, stack)

    def _on_exit(self, task: asyncio.Task[int]) -> None:
        if self.state != "stopping":
            self.state = "dead"
        code = task.result() if not task.cancelled() else None
        self.api.fail_pending(f"the instance process exited with code {code}".encode())

    async def invoke(
        self, event: bytes, timeout: float, request_id: str | None = None
    ) -> tuple[str, bytes]:
        """Hand ``event`` to the process and wait for its outcome.

        Returns ``("response" | "error" | "crash", body)``; raises
        :class:`InvokeTimedOut` (after killing the process) past ``timeout``.
        """
        assert self._exited is not None
        self.state = "busy"
        self.invocations += 1
        invocation = Invocation(event, deadline=time.time() + timeout)
        if request_id:
            invocation.request_id = request_id
        await self.api.inbox.put(invocation)
        try:
            return await asyncio.wait_for(asyncio.shield(invocation.outcome), timeout)
        except asyncio.TimeoutError:
            await self.stop(grace=0.0)
            raise InvokeTimedOut(f"{self.id} ran past {timeout:g}s and was killed") from None
        finally:
            self.last_used = time.monotonic()
            if self.state == "busy":
                self.state = "idle"

    @property
    def alive(self) -> bool:
        return self.state in ("starting", "idle", "busy")

    async def stop(self, grace: float) -> None:
        """SIGTERM (the instance runs its shutdown), then SIGKILL after ``grace``."""
        self.state = "stopping"
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM if grace > 0 else signal.SIGKILL)
            try:
                await asyncio.wait_for(process.wait(), grace or 5.0)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        self.api.fail_pending(b"the instance was stopped")
        self.state = "dead"
