"""faasify.baas: a small data service that owns the database and Redis pools.

Functions call it over HTTP instead of each holding a database connection, so
the number of functions no longer decides the number of connections.
"""
