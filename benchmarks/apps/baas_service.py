"""The data service the BaaS load benchmark runs: one collection, pool of 10.

``uvicorn benchmarks.apps.baas_service:app`` with ``DATABASE_URL`` set.
"""

import os

import sqlalchemy as sa

from faasify.baas import Collection, DatabaseConfig, LimitsConfig, Service

metadata = sa.MetaData()
todos = sa.Table(
    "faasify_bench_baas",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("text", sa.String(200), nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    # "My rows in id order" reads only the page (see baas_load._prepare).
    sa.Index("ix_faasify_bench_baas_owner_id", "owner", "id"),
)

service = Service(
    collections=[Collection("todos", todos)],
    database=DatabaseConfig(
        pool_size=int(os.environ.get("BAAS_POOL_SIZE", "10")),
        create_tables=True,
        # Names its backends in pg_stat_activity, where baas_load counts them.
        application_name="faasify-bench-service",
    ),
    limits=LimitsConfig(queue_size=400, queue_timeout=5.0),
)
app = service.app
