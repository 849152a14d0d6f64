"""The instance's event loop, and a request's coroutine run without a loop iteration
when it does not wait for anything.

A warm invoke of an ASGI app usually completes without awaiting I/O: routing,
a handler, a JSON body, all in one step of the coroutine. ``run_until_complete``
still pays for a whole turn of the loop around that step (scheduling a task,
``select`` on the selector, the ready queue, the done callbacks): about 70,000
CPU instructions on CPython 3.11, a third of what a small Starlette app costs.

:func:`run` starts the coroutine as a real :class:`asyncio.Task`, so that
``asyncio.current_task()`` and anyio's cancel scopes see the same task all the
way through, but takes the task's first step itself, with the loop marked as
the running one, instead of waiting for the loop to do it. If the task is then
done and nothing else was scheduled, that is the whole invoke; otherwise (the
app awaited a database, spawned a task, slept) the loop runs the rest exactly
as ``run_until_complete`` would have. This is what Python 3.12's
``eager_task_factory`` does inside a running loop, for a loop that runs only
while an invoke needs it.

Only the loop faasify creates (:class:`InstanceLoop`) can take a step this way;
with another loop (an event loop policy of the user's, such as uvloop's) the
runner falls back to ``run_until_complete``.
"""

from __future__ import annotations

import asyncio
from asyncio import events
from collections.abc import Awaitable, Callable
from contextvars import Context
from typing import TYPE_CHECKING, Any

__all__ = ["InstanceLoop", "new_loop", "run"]

if TYPE_CHECKING:
    from typing import TypeVar

    _T = TypeVar("_T")


class InstanceLoop(asyncio.SelectorEventLoop):
    """The default selector loop, able to hand a new task's first step to :func:`run`."""

    _take_step = False
    _step: tuple[Callable[..., object], tuple[Any, ...], Context | None] | None = None

    def __init__(self) -> None:
        super().__init__()
        # What call_soon returns for a step run() takes itself: cancelling it is a no-op.
        self._taken = asyncio.Handle(_nothing, (), self)

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        if self._take_step:
            # The one call a new Task makes: its first step. run() takes it.
            self._take_step = False
            self._step = (callback, args, context)
            return self._taken
        return super().call_soon(callback, *args, context=context)


def _nothing() -> None:
    return None


def new_loop() -> asyncio.AbstractEventLoop:
    """A loop for the instance: :class:`InstanceLoop` under asyncio's default
    policy, the policy's own loop under any other (uvloop's, say)."""
    policy = asyncio.get_event_loop_policy()
    if type(policy) is asyncio.DefaultEventLoopPolicy:
        return InstanceLoop()
    return policy.new_event_loop()


def run(loop: asyncio.AbstractEventLoop, coro: Awaitable[_T]) -> _T:
    """``loop.run_until_complete(coro)``, without a turn of the loop when the
    coroutine finishes in its first step and schedules nothing."""
    if (
        type(loop) is not InstanceLoop
        or events._get_running_loop() is not None
        or not asyncio.iscoroutine(coro)
    ):
        return loop.run_until_complete(coro)
    events._set_running_loop(loop)
    try:
        loop._take_step = True
        task = loop.create_task(coro)
        loop._take_step = False
        step = loop._step
        loop._step = None
        if step is not None:
            callback, args, context = step
            if context is None:
                callback(*args)
            else:
                context.run(callback, *args)
    finally:
        loop._take_step = False
        events._set_running_loop(None)
    if step is None:  # a task factory of the user's scheduled the step elsewhere
        scheduled: _T = loop.run_until_complete(task)
        return scheduled
    if task.done() and not loop._ready:  # type: ignore[attr-defined]
        result: _T = task.result()
        return result
    finished: _T = loop.run_until_complete(task)
    return finished
