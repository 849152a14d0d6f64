"""A real instance process holding PostgreSQL and Redis pools, for the SIGTERM
test: run as ``python -m tests.support.pools.pool_instance pg_url redis_url name``."""

import sys
import time

from faasify import handler
from faasify.local.events import build_event
from tests.support.pools.apps import fastapi_app

pg_url, redis_url, name = sys.argv[1:4]
app = fastapi_app(pg_url, redis_url, name, min_size=1)
db, cache = app.state.pools
lambda_handler = handler(app, on_startup=[db.open, cache.open])
result = lambda_handler(build_event("http-api-v2", "GET", "/ping"), None)
print(f"STATUS {result['statusCode']}", flush=True)
print("READY", flush=True)
while True:
    time.sleep(0.1)
