"""Pools declared at module scope, created once per instance, reused by every
warm invoke, checked cheaply after a thaw, closed at shutdown.

```python
from faasify.pools import PostgresPool, RedisPool, SQLAlchemyPool, SyncRedisPool
```

Each pool's driver is imported when the pool first connects, so importing
this package costs nothing for the drivers a function does not use.
"""

from faasify.pools._stats import PoolStats
from faasify.pools.postgres import PostgresPool
from faasify.pools.redis import RedisPool, SyncRedisPool
from faasify.pools.sqlalchemy import SQLAlchemyPool

__all__ = ["PoolStats", "PostgresPool", "RedisPool", "SQLAlchemyPool", "SyncRedisPool"]
