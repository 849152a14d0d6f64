"""App runners: call a WSGI or ASGI app with a :class:`~faasify.core.http.Request`.

Import from the submodules (``runners.asgi``, ``runners.lifespan``,
``runners.wsgi``): a WSGI function should not pay for importing asyncio.
"""
