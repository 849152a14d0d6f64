"""The public surface, pinned: what each public module exports, how every factory
checks its options, and that every exception faasify defines is a FaasifyError.

A change to any of these is a change users see; it must be made here on purpose.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from typing_extensions import assert_type

import faasify
from faasify import ConfigurationError, FaasifyError, LambdaHandler
from tests.support.apps import flask_app, starlette_app

EXPORTS: dict[str, list[str]] = {
    "faasify": [
        "AppError",
        "AppProtocolError",
        "ConfigurationError",
        "EventError",
        "FaasifyError",
        "IncompleteResponseError",
        "InvalidRequestError",
        "LambdaHandler",
        "LifespanError",
        "LifespanShutdownError",
        "LifespanStartupError",
        "MalformedEventError",
        "PoolConnectError",
        "PoolError",
        "PoolTimeoutError",
        "RecordsFailedError",
        "UnsupportedEventError",
        "__version__",
        "asgi",
        "handler",
        "wsgi",
    ],
    "faasify.core": [
        "AppKind",
        "AppOptions",
        "BAD_REQUEST",
        "Codec",
        "Executor",
        "Hook",
        "HostedApp",
        "INTERNAL_ERROR",
        "Instance",
        "LifespanMode",
        "Request",
        "RequestLoop",
        "Response",
        "current_instance",
        "detect_app_kind",
        "request_from_parts",
    ],
    "faasify.adapters": [],
    "faasify.adapters.aws": ["LambdaHandler", "SHAPES", "Shape", "asgi", "handler", "wsgi"],
    "faasify.adapters.aws.shapes": ["SHAPES", "SHAPE_DESCRIPTIONS", "Shape"],
    "faasify.adapters.aws.runtime": [
        "INVOKE_MODES",
        "INVOKE_MODE_VARIABLE",
        "STREAM_LIMIT",
        "Invocation",
        "InvokeMode",
        "LambdaContext",
        "RuntimeAPIError",
        "StreamBroken",
        "after_response",
        "after_restore",
        "before_snapshot",
        "run",
    ],
    "faasify.adapters.aws.events": [
        "EVENT_FORMATS",
        "EventFormat",
        "HTTPResult",
        "build_event",
        "quote_path",
        "read_result",
    ],
    "faasify.adapters.aliyun": [
        "FC2Codec",
        "FC3Codec",
        "FCEventHandler",
        "FCHttpHandler",
        "event_handler",
        "http_handler",
        "request_from_environ",
        "request_from_event",
    ],
    "faasify.adapters.azure": [
        "AsyncAzureFunction",
        "AzureCodec",
        "AzureFunction",
        "async_handler",
        "handler",
    ],
    "faasify.adapters.fn": ["FnCodec", "FnHandler", "handler"],
    "faasify.adapters.gcf": ["GCFCodec", "GCFFunction", "handler"],
    "faasify.adapters.ironfunctions": [
        "CallInfo",
        "IronCodec",
        "request_from_variables",
        "run_default",
        "run_hot",
    ],
    "faasify.adapters.openfaas": [
        "ClassicCodec",
        "OpenFaaSHandler",
        "TemplateCodec",
        "TemplateResult",
        "http_handler",
        "run_classic",
    ],
    "faasify.adapters.aws.websocket": [
        "Boto3Connections",
        "ConnectionGoneError",
        "Connections",
        "ConnectionsError",
        "SignedConnections",
        "WebSocketRoute",
        "build_websocket_event",
        "connections_for",
        "is_websocket_event",
    ],
    "faasify.adapters.openwhisk": [
        "OpenWhiskCodec",
        "WebAction",
        "controller_sends_text",
        "handler",
        "request_from_params",
    ],
    "faasify.adapters.tencent": ["SCFFunction", "TencentCodec", "handler"],
    "faasify.adapters.huawei": ["FunctionGraphFunction", "HuaweiCodec", "handler"],
    "faasify.local.async_invoke": [
        "AsyncInvocationPolicy",
        "AsyncInvoker",
        "Delivery",
        "Destination",
        "JetStreamQueue",
        "MemoryQueue",
        "Queue",
        "QueuedEvent",
        "failure_record",
        "parse_destination",
        "stream_name",
    ],
    "faasify.local.platform_events": [
        "PLATFORM_FORMATS",
        "build_platform_event",
        "read_platform_result",
    ],
    "faasify.pools": ["PoolStats", "PostgresPool", "RedisPool", "SQLAlchemyPool", "SyncRedisPool"],
    "faasify.compat": ["Mangum", "make_lambda_handler"],
}


@pytest.mark.parametrize("module", list(EXPORTS))
def test_each_public_module_exports_what_it_says(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(EXPORTS[module])
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.__all__ names {name}, which it lacks"


def _faasify_modules() -> list[str]:
    names = ["faasify"]
    for info in pkgutil.walk_packages(faasify.__path__, "faasify."):
        if info.name.startswith("faasify.platforms.") or info.name.endswith(".__main__"):
            continue  # deprecated aliases import as their new modules; __main__ runs
        names.append(info.name)
    return names


def test_every_exception_faasify_defines_is_a_faasify_error() -> None:
    defined: list[type[BaseException]] = []
    for name in _faasify_modules():
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue  # a module for an optional dependency that is not installed
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                defined.append(value)
    assert len(defined) > 20
    outside = {
        f"{e.__module__}.{e.__qualname__}" for e in defined if not issubclass(e, FaasifyError)
    }
    # The data service's problem responses join the hierarchy with its hardening;
    # this set may only shrink.
    assert outside <= {"faasify.baas.problems.Problem", "faasify.baas.service._DatabaseDown"}


# -- every factory checks its options the same way -------------------------------------


def _factories() -> dict[str, Callable[..., Any]]:
    from faasify.adapters import aliyun, azure, fn, gcf, huawei, openfaas, openwhisk, tencent

    return {
        "handler": faasify.handler,
        "asgi": lambda app, **kw: faasify.asgi(starlette_app(), **kw),
        "wsgi": lambda app, **kw: faasify.wsgi(flask_app(), **kw),
        "gcf.handler": gcf.handler,
        "azure.handler": azure.handler,
        "azure.async_handler": azure.async_handler,
        "fn.handler": fn.handler,
        "openfaas.http_handler": openfaas.http_handler,
        "aliyun.http_handler": aliyun.http_handler,
        "aliyun.event_handler": aliyun.event_handler,
        "openwhisk.handler": openwhisk.handler,
        "tencent.handler": tencent.handler,
        "huawei.handler": huawei.handler,
    }


BAD_OPTIONS: list[dict[str, Any]] = [
    {"lifespan": "sometimes"},
    {"kind": "cgi"},
    {"shutdown_timeout": -1},
    {"shutdown_timeout": "soon"},
    {"handle_signals": "yes"},
    {"on_startup": print},
    {"on_shutdown": [42]},
    {"base_path": "api/"},
]


@pytest.mark.parametrize(
    ("factory", "options"),
    [
        pytest.param(factory, options, id=f"{factory}-{next(iter(options))}")
        for factory in _factories()
        for options in BAD_OPTIONS
        if not (factory in ("asgi", "wsgi") and "kind" in options)  # they take no kind
    ],
)
def test_a_bad_option_is_a_configuration_error_on_every_factory(
    factory: str, options: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        _factories()[factory](flask_app(), **options)


@pytest.mark.parametrize("app", [flask_app, starlette_app], ids=["wsgi", "asgi"])
def test_an_unknown_lifespan_mode_is_refused_whatever_the_app(app: Callable[[], Any]) -> None:
    with pytest.raises(ConfigurationError, match="lifespan"):
        faasify.handler(app(), lifespan="sometimes")  # type: ignore[arg-type]


def test_factories_spell_out_their_options() -> None:
    for name, factory in _factories().items():
        if name in ("asgi", "wsgi"):
            factory = getattr(faasify, name)
        kinds = {p.kind for p in inspect.signature(factory).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds, f"{name} takes **options"


def test_a_registered_function_keeps_its_signature() -> None:
    lambda_handler = faasify.handler(flask_app(), handle_signals=False)

    @lambda_handler.on_sqs
    def on_message(record: dict[str, Any]) -> int:
        return len(record)

    # Checked by mypy: a decorator typed Callable[..., Any] would make this Any.
    assert assert_type(on_message({"a": 1}), int) == 1
    lambda_handler.close()


def test_moved_names_still_import_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="faasify.core"):
        hosted_app = faasify.HostedApp
    from faasify.core import HostedApp

    assert hosted_app is HostedApp
    import sys

    sys.modules.pop("faasify.platforms.gcf", None)  # another test may have imported it
    with pytest.warns(DeprecationWarning, match="faasify.adapters.gcf"):
        old = importlib.import_module("faasify.platforms.gcf")
    assert old is importlib.import_module("faasify.adapters.gcf")
    with pytest.warns(DeprecationWarning, match="import it from faasify$"):
        from faasify.adapters import handler
    assert handler is faasify.handler
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(faasify.handler(flask_app(), handle_signals=False), LambdaHandler)
