"""Per-invoke cost of each adapter, on the same apps and the same events, in one run.

Every (app, method) pair is a pytest-benchmark *group* ("starlette GET"), so
the report sets each adapter beside the floor for exactly the same work. Each
candidate's answer is checked before and after timing: a candidate that
fails (a 500, a wrong body) must fail the run rather than win it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.apps.candidates import CANDIDATES
from benchmarks.apps.frameworks import APP_FACTORIES
from benchmarks.apps.workload import WORKLOADS


def _params() -> list[Any]:
    params = []
    for app_name, (_, kind) in APP_FACTORIES.items():
        for method in WORKLOADS:
            for candidate in CANDIDATES.values():
                if candidate.supports(kind):
                    params.append(
                        pytest.param(
                            app_name,
                            method,
                            candidate.name,
                            id=f"{app_name}-{method}-{candidate.name}",
                        )
                    )
    return params


def _check(status: int, body: bytes, expected: Any, candidate: str) -> None:
    assert status == 200, f"{candidate}: status {status}, body {body[:200]!r}"
    assert json.loads(body) == expected, f"{candidate}: unexpected body {body[:200]!r}"


@pytest.mark.parametrize(("app_name", "method", "candidate"), _params())
def test_invoke(benchmark: BenchmarkFixture, app_name: str, method: str, candidate: str) -> None:
    """One warm invoke of ``candidate`` serving ``method`` on ``app_name``."""
    factory, kind = APP_FACTORIES[app_name]
    workload = WORKLOADS[method]
    prepared = CANDIDATES[candidate].prepare(factory(), kind, workload)
    try:
        _check(*prepared.read(prepared.call(*prepared.args)), workload.expected, candidate)
        benchmark.group = f"{app_name} {method}"
        benchmark.extra_info.update(app=app_name, method=method, candidate=candidate, kind=kind)
        result = benchmark(prepared.call, *prepared.args)
        _check(*prepared.read(result), workload.expected, candidate)
    finally:
        prepared.close()
