"""Lambda SnapStart: what must happen before the snapshot and after each restore.

With SnapStart, Lambda runs the init phase once, snapshots the memory of the
environment, and starts every later environment from that snapshot. Whatever
init made is then shared by all of them: open connections (a socket per
snapshot, used by many environments at once), the state of ``random``,
unique ids, credentials that expire ("Handling uniqueness with Lambda
SnapStart": https://docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html).
faasify therefore, on its own:

- before the snapshot, closes every pool faasify opened (``faasify.pools``:
  each one opens again on its next use, so after a restore the first request
  reconnects, lazily);
- after each restore, reseeds ``random``.

Your own hooks run around those: register them with AWS's
``snapshot_restore_py`` (on the managed Python 3.12+ runtimes) or with
:func:`before_snapshot` and :func:`after_restore` here, which use
``snapshot_restore_py`` when it is installed and faasify's own list when not.
Before-snapshot hooks run newest first, after-restore hooks oldest first, as
AWS's runtime runs them (awslambdaric, lambda_runtime_hooks_runner.py).

Who runs the hooks: AWS's runtime client, when the function is a plain
``faasify.handler(app)`` (faasify registers its two with
``snapshot_restore_py``, which that client runs); ``faasify runtime``, whose
loop also speaks the restore endpoints of the Runtime API: after init it
runs the before-snapshot hooks, calls ``GET /runtime/restore/next`` (Lambda
snapshots while that call waits, and answers it on restore), runs the
after-restore hooks, and reports a failing one with ``POST
/runtime/restore/error`` (custom runtimes and SnapStart:
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-custom.html).
"""

from __future__ import annotations

import inspect
import logging
import os
import random
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "INITIALIZATION_TYPE",
    "after_restore",
    "before_snapshot",
    "close_pools",
    "register_hooks",
    "reseed",
    "run_after_restore",
    "run_before_snapshot",
    "snapshotting",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

#: ``AWS_LAMBDA_INITIALIZATION_TYPE`` says ``snap-start`` in an init that ends in a snapshot.
INITIALIZATION_TYPE = "snap-start"

_before: list[Hook] = []
_after: list[Hook] = []
_registered = False


def snapshotting() -> bool:
    """Whether this init phase ends in a SnapStart snapshot."""
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == INITIALIZATION_TYPE


def _registry() -> Any:
    try:
        import snapshot_restore_py
    except ImportError:
        return None
    return snapshot_restore_py


def _run(hook: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    result = hook(*args, **kwargs)
    if inspect.isawaitable(result):
        from faasify.core.instance import current_instance

        current_instance().loop.run_until_complete(result)


def close_pools() -> None:
    """Close every pool faasify opened in this process; each reopens on its next use."""
    from faasify.pools._life import opened_pools

    pools = list(opened_pools.values())
    opened_pools.clear()
    loop = None
    for name, close, asynchronous in pools:
        result = close()
        if asynchronous and inspect.isawaitable(result):
            import asyncio

            if loop is None:
                from faasify.core.instance import current_instance

                loop = current_instance().loop
            loop.run_until_complete(asyncio.wait_for(result, 5.0))
        logger.info("pool %s closed before the snapshot", name)


def reseed() -> None:
    """Reseed ``random`` from the operating system: each restored copy gets its own."""
    random.seed()


def register_hooks() -> None:
    """Put faasify's two hooks into ``snapshot_restore_py``'s lists (once).

    For a function served by AWS's runtime client, which runs those lists;
    called when a faasify handler is built in a SnapStart init. Without
    ``snapshot_restore_py`` nothing needs registering: faasify's own loop runs
    its hooks itself.
    """
    global _registered
    if _registered:
        return
    registry = _registry()
    if registry is None:
        return
    _registered = True
    registry.register_before_snapshot(close_pools)
    registry.register_after_restore(reseed)


def before_snapshot(function: F, /, *args: Any, **kwargs: Any) -> F:
    """Run ``function(*args, **kwargs)`` before the snapshot; usable as a decorator."""
    registry = _registry()
    if registry is not None:
        registry.register_before_snapshot(function, *args, **kwargs)
    else:
        _before.append((function, args, kwargs))
    return function


def after_restore(function: F, /, *args: Any, **kwargs: Any) -> F:
    """Run ``function(*args, **kwargs)`` after each restore; usable as a decorator."""
    registry = _registry()
    if registry is not None:
        registry.register_after_restore(function, *args, **kwargs)
    else:
        _after.append((function, args, kwargs))
    return function


def _user_hooks(before: bool) -> list[Hook]:
    registry = _registry()
    if registry is None:
        return list(_before if before else _after)
    hooks = registry.get_before_snapshot() if before else registry.get_after_restore()
    ours = (close_pools, reseed)
    return [hook for hook in hooks if hook[0] not in ours]


def run_before_snapshot() -> None:
    """The user's before-snapshot hooks, newest first, then faasify's: pools closed last,
    after whatever the hooks still did with them. Raises what a hook raised."""
    for function, args, kwargs in reversed(_user_hooks(True)):
        _run(function, args, kwargs)
    close_pools()


def run_after_restore() -> None:
    """``random`` reseeded first, then the user's after-restore hooks in order; raises
    what a hook raised."""
    reseed()
    for function, args, kwargs in _user_hooks(False):
        _run(function, args, kwargs)
