"""``faasify local --snapstart``: init once, snapshot, restore each new instance from it.

:class:`Snapshot` is one process that runs the function's init phase and its
before-snapshot hooks, then calls ``GET /runtime/restore/next`` on its Runtime
API, as a SnapStart init does: that call is the moment the snapshot is taken.
The process then stands still (``faasify.local.bootstrap --snapshot``). Each
new instance is a :class:`RestoredInstance`: a fork of that process, which
calls ``restore/next`` on the instance's own Runtime API (the restore), runs
the after-restore hooks and serves, as an environment restored by Lambda
does. A restore hook that fails fails the instance's start, with the hook's
error, as ``POST /runtime/restore/error`` reports it.

A fork copies the process's memory, which is what matters here: what
SnapStart shares between restored environments (a connection left open at
init, ``random``'s state, ids made at init) is shared between these copies
too, and the same hooks set it right.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import Any

from faasify.local.runtime.api import RuntimeAPI
from faasify.local.runtime.instance import FunctionInstance, Process

__all__ = ["RestoredInstance", "Snapshot"]


class _Copy:
    """A restored copy: a child of the snapshot process, not of this one.

    Its end is reported by the snapshot process (``exit PID STATUS``).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @property
    def returncode(self) -> int | None:
        return self._ended.result() if self._ended.done() else None

    def ended(self, status: int) -> None:
        if not self._ended.done():
            self._ended.set_result(status)

    async def wait(self) -> int:
        return await asyncio.shield(self._ended)


class Snapshot(FunctionInstance):
    """The snapshot's process: init once, then a fork per restored instance."""

    def __init__(self, handler: str, **options: Any) -> None:
        super().__init__(0, handler, **options)
        self.id = "snapshot"
        self.api = RuntimeAPI(self.function_name, snapshot=True)
        self._commands: int | None = None
        self._events: int | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pids: asyncio.Queue[int] = asyncio.Queue()
        self._copies: dict[int, _Copy] = {}
        self._forking = asyncio.Lock()

    def environment(self, port: int) -> dict[str, str]:
        env = super().environment(port)
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
        return env

    async def _spawn(self, env: dict[str, str]) -> Process:
        commands_read, commands_write = os.pipe()
        events_read, events_write = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "faasify.local.bootstrap",
                "--snapshot",
                str(commands_read),
                str(events_write),
                self.handler,
                cwd=self.cwd,
                env=env,
                start_new_session=True,
                pass_fds=(commands_read, events_write),
            )
        finally:
            os.close(commands_read)
            os.close(events_write)
        self._commands = commands_write
        self._events = events_read
        self._reader = asyncio.ensure_future(self._read_events(events_read))
        return process

    async def _read_events(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
        )
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                words = line.decode().split()
                if len(words) == 2 and words[0] == "pid":
                    self._pids.put_nowait(int(words[1]))
                elif len(words) == 3 and words[0] == "exit":
                    copy = self._copies.pop(int(words[1]), None)
                    if copy is not None:
                        copy.ended(int(words[2]))
        finally:
            transport.close()
            # The snapshot process is gone: so are its copies.
            for copy in self._copies.values():
                copy.ended(-9)
            self._copies.clear()

    async def copy(self, address: str, name: str, timeout: float = 30.0) -> Process:
        """A new copy of the snapshot, to talk to the Runtime API at ``address``."""
        if self._commands is None or not self.alive:
            raise RuntimeError("the snapshot process is not running")
        async with self._forking:
            os.write(self._commands, f"fork {address} {name}\n".encode())
            pid = await asyncio.wait_for(self._pids.get(), timeout)
        copy = _Copy(pid)
        self._copies[pid] = copy
        return copy

    async def stop(self, grace: float) -> None:
        if self._commands is not None:
            with contextlib.suppress(OSError):
                os.close(self._commands)
            self._commands = None
        await super().stop(grace)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None


class RestoredInstance(FunctionInstance):
    """An instance restored from :class:`Snapshot` rather than started with an init."""

    def __init__(self, number: int, handler: str, *, snapshot: Snapshot, **options: Any) -> None:
        super().__init__(number, handler, **options)
        self.snapshot = snapshot
        self.restored = True

    async def _spawn(self, env: dict[str, str]) -> Process:
        return await self.snapshot.copy(env["AWS_LAMBDA_RUNTIME_API"], self.id)
