"""What the service sends PostgreSQL, read off the wire by a recording proxy:
nothing that would pin an RDS Proxy session (session-level SET, SQL PREPARE,
temporary tables, LISTEN, advisory locks...), whatever it does."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from faasify.baas import NamedQuery, Service
from tests.baas.test_service import ALICE, make_service, todos_table
from tests.support.baas.faults import FaultProxy
from tests.support.baas.shared import drop_tables, served

# What RDS Proxy documents as pinning a PostgreSQL session (and asyncpg's reset query).
PINNING = re.compile(
    r"^\s*(SET|RESET|PREPARE|EXECUTE|DEALLOCATE|DISCARD|LISTEN|UNLISTEN|LOAD|DECLARE|CLOSE)\b"
    r"|\bCREATE\s+(TEMP|TEMPORARY)\b|\bpg_advisory|\bset_config\s*\(",
    re.IGNORECASE | re.MULTILINE,
)


def test_the_pattern_catches_what_pins() -> None:
    for statement in (
        "SET search_path TO x",
        "set application_name = 'x'",
        "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;",
        "PREPARE s AS SELECT 1",
        "CREATE TEMPORARY TABLE t (x int)",
        "LISTEN channel",
        "SELECT set_config('a.b', 'c', false)",
    ):
        assert PINNING.search(statement), statement
    for statement in ("SELECT 1", "BEGIN;", "INSERT INTO settings (x) VALUES ($1)", "COMMIT;"):
        assert not PINNING.search(statement), statement


@pytest.fixture
def table(pg_url: str) -> Iterator[sa.Table]:
    table = todos_table(f"todos_{uuid.uuid4().hex[:8]}")
    yield table
    drop_tables(pg_url, table)


@pytest.mark.postgres
@pytest.mark.parametrize("pooler", [None, "rds-proxy", "pgbouncer"])
def test_the_service_sends_nothing_that_pins_a_session(
    pg_url: str, table: sa.Table, pooler: str | None
) -> None:
    port = int(pg_url.rsplit(":", 1)[1].split("/", 1)[0])
    count = NamedQuery(
        "count",
        sa.select(sa.func.count().label("n"))
        .select_from(table)
        .where(table.c.owner == sa.bindparam("owner"), table.c.done == sa.bindparam("done")),
        params={"done": bool},
    )
    headers = {"X-API-Key": ALICE}
    with FaultProxy(port, record=True) as proxy:
        service: Service = make_service(proxy.url(pg_url), table, pooler=pooler, queries=[count])

        async def scenario() -> list[int]:
            async with served(service) as http:
                statuses = [(await http.get("/readyz")).status_code]
                made = [
                    await http.post("/v1/todos", json={"text": f"t{i}"}, headers=headers)
                    for i in range(3)
                ]
                ids = [m.json()["id"] for m in made]
                keyed = {**headers, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
                statuses += [m.status_code for m in made]
                for request in (
                    http.post("/v1/todos", json={"text": "keyed"}, headers=keyed),
                    http.post("/v1/todos", json={"text": "keyed"}, headers=keyed),
                    http.get("/v1/todos", params={"limit": 2, "done": "false"}, headers=headers),
                    http.get(f"/v1/todos/{ids[0]}", headers=headers),
                    http.get("/v1/todos/999999", headers=headers),
                    http.patch(f"/v1/todos/{ids[0]}", json={"done": True}, headers=keyed),
                    http.delete(f"/v1/todos/{ids[1]}", headers=headers),
                    http.delete("/v1/todos", params={"id": [ids[2], 999999]}, headers=headers),
                    http.get("/v1/queries/count", params={"done": "true"}, headers=headers),
                ):
                    statuses.append((await request).status_code)
                await service.purge_idempotency_keys()
                return statuses

        statuses = asyncio.run(scenario())
    assert statuses == [200, 201, 201, 201, 201, 201, 200, 200, 404, 422, 204, 404, 200]
    sent = proxy.statements
    assert any(s.lstrip().upper().startswith("INSERT") for s in sent)
    assert any(s.lstrip().upper().startswith("SELECT") for s in sent)
    assert any("CREATE TABLE" in s.upper() for s in sent)  # startup went through it too
    pinning = [s for s in sent if PINNING.search(s)]
    assert pinning == []
