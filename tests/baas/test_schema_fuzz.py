"""Schemathesis against the live service (uvicorn, both databases): every
operation of the OpenAPI document, with data generated from it, valid and not.

No answer may be a 500, every status and content type must be the document's,
every answer must match its schema, data the document calls invalid must be
refused, and data it calls valid must be accepted. Each operation gets 30
examples, the same on every run; ``FUZZ_EXAMPLES=150`` runs that many random ones
instead (a longer hunt, by hand).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks as core_checks
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks

from tests.support.baas.shared import CREATED_KEY_TABLES, drop_tables, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
KEY = f"fuzz-key-{uuid.uuid4().hex}"
CURSOR = base64.urlsafe_b64encode(b"[0]").decode()  # "after id 0", as the service writes it

CHECKS = [
    core_checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.positive_data_acceptance,
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def live_service(request: pytest.FixtureRequest) -> Iterator[str]:
    table = f"fuzz_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{request.getfixturevalue('tmp_path_factory').mktemp('db')}/fuzz.db"
    else:
        url = request.getfixturevalue("pg_url")
        CREATED_KEY_TABLES.append((url, f"{table}_keys"))
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.support.baas.fuzz_service:app",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FUZZ_DATABASE_URL": url,
            "FUZZ_TABLE": table,
            "FUZZ_API_KEY": KEY,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
        if request.param == "postgres":
            import sqlalchemy as sa

            drop_tables(url, sa.Table(table, sa.MetaData()))


def _operations(base: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        # A part of the document schemathesis cannot read is a failure of its own.
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_holds_to_the_document(live_service: str, mode: GenerationMode) -> None:
    operations = _operations(live_service)
    assert len(operations) == 9  # health, readiness, 6 collection operations, a named query
    failures: list[str] = []
    without_inputs: list[str] = []
    for operation in operations:
        # A page cursor is opaque: any string is schema-valid, only the ones the
        # service issued are accepted. Valid requests carry one it issues.
        query = (
            {"cursor": CURSOR}
            if mode.is_positive and "cursor" in str(operation.definition.raw)
            else None
        )

        @given(case=operation.as_strategy(generation_mode=mode, query=query))
        @settings(
            max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=not os.environ.get("FUZZ_EXAMPLES"),
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(base_url=live_service, headers={"X-API-Key": KEY}, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # nothing to get wrong: no parameter and no body
            without_inputs.append(operation.label)
        except Exception as exc:  # every operation is tried; the failures are listed
            failures.append(f"{operation.label}: {exc}")
    assert failures == []
    assert set(without_inputs) <= {"GET /healthz", "GET /readyz"}
