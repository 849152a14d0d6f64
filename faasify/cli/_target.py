"""What a command names as ``module:attribute``: found, told apart, made a handler.

``faasify serve app:app`` (the habit uvicorn teaches: the app) and ``faasify
serve app:lambda_handler`` (the handler built from it) both work: a WSGI or
ASGI app is wrapped with :func:`faasify.handler` here. What is neither, such
as the ``faasify.handler`` factory imported into the module, is refused with
a sentence that names what to give instead.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, Literal

from faasify.cli._errors import CommandError

__all__ = [
    "Handler",
    "ImportFailed",
    "TargetError",
    "as_handler",
    "kind_of",
    "load_handler",
    "load_target",
    "user_traceback",
]

#: A Lambda-style handler: ``(event, context) -> result``.
Handler = Callable[[Any, Any], Any]
Kind = Literal["handler", "asgi", "wsgi"]


class TargetError(CommandError):
    """``module:attribute`` does not name something a command can run."""


class ImportFailed(TargetError):
    """The module was found, and raised while it was imported (the user's own error)."""

    def __init__(self, module: str, exc: Exception) -> None:
        self.error = exc
        super().__init__(
            f"importing {module!r} raised {type(exc).__name__}: {exc} (traceback above)",
            detail="".join(user_traceback(exc)),
        )


_FAASIFY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _internal(filename: str) -> bool:
    return (
        filename.startswith(_FAASIFY_DIR + os.sep)
        or filename.startswith("<frozen importlib")
        or filename == importlib.__file__
    )


def user_traceback(exc: BaseException) -> list[str]:
    """``exc``'s traceback from the first frame of the user's code on (faasify's and
    importlib's frames above it say nothing about their error)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and _internal(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return traceback.format_exception(type(exc), exc, tb)


def load_target(spec: str) -> object:
    """The object ``spec`` (``module:attribute``) names, imported from the current directory."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise TargetError(
            f"{spec!r} is not module:attribute: name the module and the object in it, "
            "as in app:lambda_handler (the object lambda_handler in app.py)"
        )
    if "" not in sys.path:
        sys.path.insert(0, "")  # the current directory, as `python -m` and uvicorn do
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise TargetError(
                f"could not import module {module_name!r}: there is no "
                f"{missing.replace('.', '/')}.py (or package) in {os.getcwd()} or on the "
                "Python path; run faasify from the directory that holds it, or fix the name"
            ) from None
        raise TargetError(
            f"could not import module {module_name!r}: it imports {missing!r}, which is "
            f"not installed here (pip install it, or fix the import)"
        ) from None
    except Exception as exc:
        raise ImportFailed(module_name, exc) from exc
    target: Any = module
    for depth, part in enumerate(attribute.split(".")):
        try:
            target = getattr(target, part)
        except AttributeError:
            found = ", ".join(_runnable_names(target)) if depth == 0 else ""
            hint = f"; it has {found}" if found else ""
            where = module_name if depth == 0 else ".".join(attribute.split(".")[:depth])
            raise TargetError(f"{where!r} has no attribute {part!r}{hint}") from None
    return target


def _runnable_names(module: object) -> list[str]:
    """The public names in ``module`` that a command could run: handlers and apps.

    Those are faasify handlers and callables taking two or three arguments
    (an ``(event, context)`` function, a WSGI or ASGI app) that the module
    made itself, not imported.
    """
    from faasify.adapters.aws.handler import LambdaHandler

    own = getattr(module, "__name__", "")
    names = []
    for name, value in sorted(vars(module).items()):
        if name.startswith("_") or _refusal(value, name) is not None:
            continue
        if inspect.isfunction(value) and value.__module__ != own:
            continue
        arguments = _required_positional(value)
        if isinstance(value, LambdaHandler) or (arguments and len(arguments) in (2, 3)):
            names.append(name)
    return names[:8]


def _faasify_name(target: object) -> str | None:
    """``faasify.handler`` for faasify's own factories and classes, else ``None``."""
    module = getattr(target, "__module__", "") or ""
    if not (module == "faasify" or module.startswith("faasify.")):
        return None
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        return None
    import faasify

    name = getattr(target, "__name__", "")
    if getattr(faasify, name, None) is target:
        return f"faasify.{name}"
    return f"{module}.{getattr(target, '__qualname__', name)}"


def _refusal(target: object, spec: str) -> str | None:
    """Why ``target`` can be neither run nor wrapped, or ``None`` when it can."""
    factory = _faasify_name(target)
    if factory is not None:
        module = spec.partition(":")[0] or "app"
        return (
            f"{spec} is {factory}, which builds a handler from an app; it is not one. "
            f"Give the handler it returned ({module}:lambda_handler after "
            f"lambda_handler = handler(app)) or the app itself ({module}:app)"
        )
    if inspect.isclass(target):
        return (
            f"{spec} is the class {target.__qualname__}; give an object made from it "
            "(the app or the handler), not the class"
        )
    if not callable(target):
        return (
            f"{spec} is a {type(target).__name__}, not a handler or an app: give the "
            "Lambda handler (event, context) or the WSGI or ASGI app"
        )
    return None


def _required_positional(target: Any) -> list[str] | None:
    try:
        parameters = inspect.signature(target).parameters.values()
    except Exception:  # not introspectable; a proxy object may even raise its own error
        return None
    return [
        p.name
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]


def kind_of(target: Any) -> Kind:
    """``"handler"``, ``"asgi"`` or ``"wsgi"``, from what ``target`` is and takes.

    A faasify handler is a handler. ``async`` callables and three-argument
    ones are ASGI apps. Two arguments are the ambiguous case, ``(event,
    context)`` or ``(environ, start_response)``: the first one's name decides,
    and without a telling name a function is taken for a handler (that is how
    handlers are written) and an object for a WSGI app (Flask's and Django's
    apps are objects).
    """
    from faasify.adapters.aws.handler import LambdaHandler

    if isinstance(target, LambdaHandler):
        return "handler"
    plain = inspect.isfunction(target) or inspect.ismethod(target)
    call = target if plain else type(target).__call__
    if inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(call):
        return "asgi"
    names = _required_positional(target) or []
    if len(names) == 3:
        return "asgi"
    if names[:1] == ["environ"]:
        return "wsgi"
    if names[:1] == ["event"] or plain or len(names) != 2:
        return "handler"
    return "wsgi"


def as_handler(target: object, spec: str) -> Handler:
    """``target`` as a handler: itself, or an app wrapped with :func:`faasify.handler`."""
    refusal = _refusal(target, spec)
    if refusal is not None:
        raise TargetError(refusal)
    if kind_of(target) == "handler":
        return target  # type: ignore[return-value]
    from faasify import handler

    return handler(target)


def load_handler(spec: str) -> Handler:
    """The handler ``spec`` names (``app:lambda_handler``), or its app wrapped (``app:app``).

    Raises :class:`TargetError` (a one-line reason and its fix) when the module
    cannot be found, lacks the attribute, or names something that is neither.
    """
    return as_handler(load_target(spec), spec)
