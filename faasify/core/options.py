"""The options every front door shares, checked in one place.

Every factory (:func:`faasify.handler`, each platform's) spells its options
out as typed keyword arguments and hands the shared ones to
:class:`AppOptions`, which checks them all and raises
:class:`~faasify.ConfigurationError` for any value that cannot work. Checking
happens where the handler is built, at cold start: a wrong option fails the
deployment, not the first request, and fails it the same way on every platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

__all__ = [
    "AppKind",
    "AppOptions",
    "Hook",
    "LifespanMode",
    "check_base_path",
    "check_text_mime_types",
]

if TYPE_CHECKING:
    from typing import Literal

    #: ``"auto"`` detects the app's kind from its call signature.
    AppKind: TypeAlias = Literal["auto", "asgi", "wsgi"]
    #: ``"auto"``: run the ASGI lifespan if the app supports it; ``"on"``: it must;
    #: ``"off"``: never send lifespan events.
    LifespanMode: TypeAlias = Literal["auto", "on", "off"]
#: A startup or shutdown hook: a plain function or a coroutine function.
Hook: TypeAlias = Callable[[], Awaitable[object] | object]

_KINDS = ("auto", "asgi", "wsgi")
_LIFESPANS = ("auto", "on", "off")


def __getattr__(name: str) -> Any:
    # The two Literal aliases, built on first use: each costs a cold start as
    # much as a class, and the factories need them only in their annotations.
    if name in ("AppKind", "LifespanMode"):
        from typing import Literal

        value: Any = Literal[_KINDS if name == "AppKind" else _LIFESPANS]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(f"{name} must be one of {listed}, not {value!r}")


def _hooks(name: str, hooks: Iterable[Hook]) -> tuple[Hook, ...]:
    if callable(hooks) or isinstance(hooks, str | bytes):
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(f"{name} must be a list of functions, not one {hooks!r}")
    try:
        result = tuple(hooks)
    except TypeError:
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(f"{name} must be a list of functions, not {hooks!r}") from None
    for hook in result:
        if not callable(hook):
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(f"{name}: {hook!r} is not callable")
    return result


class AppOptions:
    """How an app lives on its instance: kind, lifespan, hooks, shutdown.

    ``on_startup`` hooks run at cold start after the ASGI lifespan startup;
    ``on_shutdown`` hooks run once at shutdown, newest first, within
    ``shutdown_timeout`` seconds together with the lifespan shutdown.
    ``handle_signals`` shuts the instance down on SIGTERM.
    """

    __slots__ = (
        "handle_signals",
        "kind",
        "lifespan",
        "on_shutdown",
        "on_startup",
        "shutdown_timeout",
    )

    def __init__(
        self,
        *,
        kind: AppKind = "auto",
        lifespan: LifespanMode = "auto",
        on_startup: Iterable[Hook] = (),
        on_shutdown: Iterable[Hook] = (),
        shutdown_timeout: float = 1.5,
        handle_signals: bool = True,
    ) -> None:
        _choice("kind", kind, _KINDS)
        _choice("lifespan", lifespan, _LIFESPANS)
        if (
            isinstance(shutdown_timeout, bool)
            or not isinstance(shutdown_timeout, int | float)
            or not shutdown_timeout >= 0
        ):
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(
                f"shutdown_timeout must be a number of seconds >= 0, not {shutdown_timeout!r}"
            )
        if not isinstance(handle_signals, bool):
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(
                f"handle_signals must be True or False, not {handle_signals!r}"
            )
        self.kind: AppKind = kind
        self.lifespan: LifespanMode = lifespan
        self.on_startup = _hooks("on_startup", on_startup)
        self.on_shutdown = _hooks("on_shutdown", on_shutdown)
        self.shutdown_timeout = float(shutdown_timeout)
        self.handle_signals = handle_signals

    def __repr__(self) -> str:
        return (
            f"AppOptions(kind={self.kind!r}, lifespan={self.lifespan!r}, "
            f"shutdown_timeout={self.shutdown_timeout!r}, handle_signals={self.handle_signals!r})"
        )


def check_text_mime_types(values: Iterable[str]) -> tuple[str, ...]:
    """Extra media types to send as text, each a ``type/subtype`` string."""
    if isinstance(values, str):
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(
            f"text_mime_types must be a list of media types, not one string {values!r}"
        )
    try:
        result = tuple(values)
    except TypeError:
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(f"text_mime_types must be a list, not {values!r}") from None
    for value in result:
        if not isinstance(value, str) or "/" not in value:
            from faasify._exceptions import ConfigurationError

            raise ConfigurationError(f"text_mime_types: {value!r} is not a media type")
    return result


def check_base_path(base_path: str | None) -> str:
    """``base_path`` if usable (``""`` or ``/api``: a leading slash, none trailing).

    Raises :class:`ConfigurationError` otherwise; called where a handler is
    built, so that a wrong value fails the deployment, not a request.
    """
    if base_path is None:
        return ""
    if not isinstance(base_path, str):
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(f"base_path must be a string, not {type(base_path).__name__}")
    if base_path and (not base_path.startswith("/") or base_path.endswith("/")):
        from faasify._exceptions import ConfigurationError

        raise ConfigurationError(
            f"base_path must start with '/' and not end with one, not {base_path!r}"
        )
    return base_path
