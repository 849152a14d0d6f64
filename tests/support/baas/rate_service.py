"""One service instance for the two-process rate limit test, run by uvicorn.

Configured from the environment: ``TEST_REDIS_URL``, ``TEST_API_KEY``,
``TEST_RATE`` (requests per 60 s, also the burst). The database is the
embedded SQLite default: the limit under test lives in Redis.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from faasify.baas import APIKeys, Collection, LimitsConfig, Principal, Service, hash_api_key

_notes = sa.Table(
    "notes",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("text", sa.String(100), nullable=False),
)
_rate = int(os.environ["TEST_RATE"])
_key = os.environ["TEST_API_KEY"]
service = Service(
    collections=[Collection("notes", _notes, owner="owner")],
    # The budget is the principal's, and the Redis is shared: one principal per run.
    auth=APIKeys({hash_api_key(_key): Principal("rate-test", _key)}),
    redis_url=os.environ["TEST_REDIS_URL"],
    limits=LimitsConfig(rate_limit=(_rate, 60.0)),
)
app = service.app
