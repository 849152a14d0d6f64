"""The service the fault tests run under uvicorn, so that a client's timeout is
a real HTTP client's (the request is not cancelled inside the service).

Configured from the environment: ``FAULT_DATABASE_URL``, ``FAULT_TABLE`` and
``FAULT_POOL_SIZE`` (its idempotency keys go to ``<FAULT_TABLE>_keys``);
callers authenticate with ``tests.baas.test_service.ALICE``.
"""

from __future__ import annotations

import os

from tests.baas.test_service import make_service, todos_table

service = make_service(
    os.environ["FAULT_DATABASE_URL"],
    todos_table(os.environ["FAULT_TABLE"]),
    pool_size=int(os.environ.get("FAULT_POOL_SIZE", "3")),
    idempotency_table=os.environ["FAULT_TABLE"] + "_keys",
)
app = service.app
