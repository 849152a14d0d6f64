"""The public surface of faasify.baas: its names, and every exception under FaasifyError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import faasify.baas
from faasify._exceptions import ConfigurationError, FaasifyError
from faasify.baas import BaaSError, Problem, ServiceConfigurationError, ServiceError

PINNED = [
    "APIKeys",
    "AsyncClient",
    "BaaSError",
    "CircuitBreaker",
    "CircuitOpen",
    "Client",
    "Collection",
    "Conflict",
    "DatabaseConfig",
    "Forbidden",
    "IdempotencyConfig",
    "InvalidRequest",
    "JWTAuth",
    "LimitsConfig",
    "NamedQuery",
    "NotFound",
    "OutageConfig",
    "Pooler",
    "Principal",
    "Problem",
    "Service",
    "ServiceConfigurationError",
    "ServiceError",
    "ServiceUnavailable",
    "Throttled",
    "TransportFailed",
    "Unauthorized",
    "hash_api_key",
]


def test_the_exported_names_are_pinned() -> None:
    assert faasify.baas.__all__ == PINNED
    for name in PINNED:
        assert getattr(faasify.baas, name) is not None


def test_old_import_paths_of_public_names_still_work() -> None:
    from faasify.baas.auth import APIKeys, JWTAuth, Principal, hash_api_key  # noqa: F401
    from faasify.baas.client import AsyncClient, Client, ServiceError  # noqa: F401
    from faasify.baas.collection import Collection
    from faasify.baas.problems import Problem as OldProblem
    from faasify.baas.query import NamedQuery  # noqa: F401
    from faasify.baas.service import Service

    assert OldProblem is Problem
    assert Collection is faasify.baas.Collection
    assert Service is faasify.baas.Service


def _modules() -> list[str]:
    names = ["faasify.baas"]
    for info in pkgutil.walk_packages(faasify.baas.__path__, "faasify.baas."):
        names.append(info.name)
    return names


def test_every_exception_of_faasify_baas_is_a_faasify_error() -> None:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("faasify.baas"):
                found.append(value)
                assert issubclass(value, FaasifyError), value
    assert len(found) >= 15  # the client's, the throttle's, Problem, the breaker's...


def test_the_levels_catch_what_they_say() -> None:
    from faasify.baas import CircuitOpen, NotFound, Throttled
    from faasify.baas.throttle import RateLimited, Shed, ThrottledError

    assert issubclass(Problem, BaaSError)
    assert issubclass(ServiceError, BaaSError)
    for leaf in (NotFound, Throttled):
        assert issubclass(leaf, ServiceError)
    for refusal in (RateLimited, Shed):
        assert issubclass(refusal, ThrottledError)
        assert issubclass(refusal, BaaSError)
    assert issubclass(CircuitOpen, BaaSError)
    assert issubclass(ServiceConfigurationError, ConfigurationError)
    assert issubclass(ServiceConfigurationError, ValueError)


def test_the_client_alone_loads_neither_sqlalchemy_nor_starlette() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from faasify.baas import Client, NotFound, BaaSError; "
        "print(any(m.split('.')[0] in ('sqlalchemy', 'starlette') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
