"""The service Schemathesis fuzzes, run by uvicorn: one collection of every kind
of column the service maps, and a named query with typed parameters.

Configured from the environment: ``FUZZ_DATABASE_URL``, ``FUZZ_TABLE``; callers
authenticate with ``FUZZ_API_KEY``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from faasify.baas import APIKeys, Collection, NamedQuery, Principal, Service, hash_api_key
from tests.support.baas.shared import service_options

table = sa.Table(
    os.environ["FUZZ_TABLE"],
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False, index=True),
    sa.Column("text", sa.String(100), nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("rank", sa.BigInteger, nullable=True),
    sa.Column("due", sa.Date, nullable=True),
    sa.Column("meta", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime, server_default=sa.func.now()),
)
by_text = NamedQuery(
    "by_text",
    sa.select(table.c.id, table.c.text)
    .where(table.c.owner == sa.bindparam("owner"), table.c.text == sa.bindparam("text"))
    .where(table.c.id > sa.bindparam("after", type_=sa.BigInteger))
    .limit(50),
    params={"text": str, "after": int},
)
service = Service(
    collections=[Collection("items", table, read_only=["created_at"], max_page_size=50)],
    queries=[by_text],
    auth=APIKeys({hash_api_key(os.environ["FUZZ_API_KEY"]): Principal("fuzz", "tester")}),
    **service_options(
        os.environ["FUZZ_DATABASE_URL"],
        idempotency_table=os.environ["FUZZ_TABLE"] + "_keys",
        max_body_bytes=16 * 1024,
    ),
)
app = service.app
