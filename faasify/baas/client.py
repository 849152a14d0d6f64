"""The client functions use to call the data service, on httpx.

Build it once per instance, at module scope, like a pool: its connection to
the service is kept alive across warm invokes. Every call has a timeout;
429 and 503 answers and transport failures are retried with exponential
backoff and full jitter, waiting at least what ``Retry-After`` asks. Every
write carries an ``Idempotency-Key`` generated for that call and kept across
its retries, so a write retried after a lost answer is applied once.

```python
todos = Client(os.environ["BAAS_URL"], api_key=os.environ["BAAS_KEY"])   # sync, for WSGI
page = todos.list("todos", done="false", limit=20)
item = todos.create("todos", {"text": "buy milk"})
```
``AsyncClient`` has the same methods as coroutines, for ASGI apps.

A function that acts for its own callers forwards each caller's token with
:meth:`Client.with_token`, a view that shares the instance's connections:

```python
rows = todos.with_token(user_token).query("open_count", done="false")["rows"]
```
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from faasify.baas.errors import BaaSError

__all__ = [
    "AsyncClient",
    "Client",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "ServiceError",
    "ServiceUnavailable",
    "Throttled",
    "TransportFailed",
    "Unauthorized",
]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ServiceError(BaaSError):
    """The data service refused or failed a call; ``problem`` is its problem+json."""

    def __init__(self, status: int, problem: dict[str, Any] | None = None) -> None:
        self.status = status
        self.problem = problem or {}
        super().__init__(
            f"{status}: {self.problem.get('detail') or self.problem.get('title') or 'error'}"
        )


class InvalidRequest(ServiceError):
    """400, 413, 415 or 422: the call itself is wrong; retrying will not help."""


class Unauthorized(ServiceError):
    """401: the credential is missing or not accepted."""


class Forbidden(ServiceError):
    """403: the credential may not do this."""


class NotFound(ServiceError):
    """404: no such item for this caller."""


class Conflict(ServiceError):
    """409 or 422 on a replayed key: the change conflicts with existing data."""


class Throttled(ServiceError):
    """429 after the last retry; ``retry_after`` says when to come back."""

    def __init__(self, status: int, problem: dict[str, Any] | None, retry_after: float) -> None:
        super().__init__(status, problem)
        self.retry_after = retry_after


class ServiceUnavailable(Throttled):
    """502/503/504 after the last retry (the service or its database is down)."""


class TransportFailed(ServiceError):
    """The service could not be reached or did not answer within the timeout."""


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def _error_for(response: httpx.Response) -> ServiceError:
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text[:200]}
    status = response.status_code
    if status == 429:
        return Throttled(status, problem, _retry_after(response))
    if status in (502, 503, 504):
        return ServiceUnavailable(status, problem, _retry_after(response))
    kind = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}.get(status)
    if kind is None:
        kind = InvalidRequest if 400 <= status < 500 else ServiceError
    return kind(status, problem)


class _Policy:
    """When to retry and how long to wait: full jitter, floored by Retry-After."""

    def __init__(self, retries: int, backoff: float, max_backoff: float) -> None:
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff

    def delays(self) -> Iterator[float]:
        for attempt in range(self.retries):
            yield random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))


def _write_headers(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}


def _bearer(token: str) -> dict[str, str]:
    """The credentials of a view acting with ``token``; an empty token is refused.

    An empty string (an unset variable, a header with nothing after
    ``Bearer``) would otherwise make a view that sends no credential at all,
    which the service answers with 401 far from the mistake.
    """
    if not isinstance(token, str) or not token.strip():
        raise ValueError(f"with_token() needs a non-empty bearer token, not {token!r}")
    return {"Authorization": f"Bearer {token}"}


def _credentials(api_key: str | None, token: str | None) -> dict[str, str]:
    if api_key:
        return {"X-API-Key": api_key}
    if token:
        return {"Authorization": f"Bearer {token}"}
    return {}


class Client:
    """A synchronous client (WSGI apps, scripts). See the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.1,
        max_backoff: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._policy = _Policy(retries, backoff, max_backoff)
        # Sent with each request rather than set on the connection, so that a
        # view from with_token() can replace it while sharing the connection.
        self._auth = _credentials(api_key, token)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )

    def with_token(self, token: str) -> Client:
        """This client acting with ``token`` as its bearer credential.

        The view shares this client's connections and retry policy, so a function
        can forward each caller's token without a client per request. Closing
        either closes both. An empty ``token`` raises :class:`ValueError`.
        """
        view = copy.copy(self)
        view._auth = _bearer(token)
        return view

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs["headers"] = {**self._auth, **kwargs.get("headers", {})}
        delays = self._policy.delays()
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                delay = next(delays, None)
                if delay is None:
                    raise TransportFailed(0, {"detail": str(exc)}) from exc
                time.sleep(delay)
                continue
            if response.status_code in _RETRY_STATUSES:
                delay = next(delays, None)
                if delay is not None:
                    time.sleep(max(delay, _retry_after(response)))
                    continue
            if response.is_error:
                raise _error_for(response)
            return response

    def list(self, collection: str, /, **params: Any) -> dict[str, Any]:
        """A page of ``collection``; ``params`` are filters, ``order``, ``limit``...

        ``collection`` is positional-only, so a field called ``collection`` can
        be filtered on.
        """
        result: dict[str, Any] = self._call("GET", f"/v1/{collection}", params=params).json()
        return result

    def get(self, collection: str, item_id: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/v1/{collection}/{item_id}").json()
        return result

    def query(self, name: str, /, **params: Any) -> dict[str, Any]:
        """Run the service's named query ``name``: ``{"rows": [...]}``.

        ``name`` is positional-only, so a query may take a parameter called
        ``name`` too: ``query("by_name", name="bob")``.
        """
        result: dict[str, Any] = self._call("GET", f"/v1/queries/{name}", params=params).json()
        return result

    def create(
        self, collection: str, data: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        headers = _write_headers(idempotency_key)
        response = self._call("POST", f"/v1/{collection}", json=data, headers=headers)
        result: dict[str, Any] = response.json()
        return result

    def update(
        self,
        collection: str,
        item_id: Any,
        changes: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = _write_headers(idempotency_key)
        response = self._call("PATCH", f"/v1/{collection}/{item_id}", json=changes, headers=headers)
        result: dict[str, Any] = response.json()
        return result

    def delete(self, collection: str, item_id: Any, *, idempotency_key: str | None = None) -> None:
        headers = _write_headers(idempotency_key)
        self._call("DELETE", f"/v1/{collection}/{item_id}", headers=headers)

    def delete_many(
        self, collection: str, item_ids: Sequence[Any], *, idempotency_key: str | None = None
    ) -> None:
        """Delete all of ``item_ids`` or none of them (one request, one transaction):
        :class:`NotFound` if any is missing, and then nothing was deleted."""
        headers = _write_headers(idempotency_key)
        params = [("id", str(item_id)) for item_id in item_ids]
        self._call("DELETE", f"/v1/{collection}", params=params, headers=headers)

    def close(self) -> None:
        self._http.close()


class AsyncClient:
    """The same client for ASGI apps: every method is a coroutine."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.1,
        max_backoff: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._policy = _Policy(retries, backoff, max_backoff)
        self._auth = _credentials(api_key, token)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )

    def with_token(self, token: str) -> AsyncClient:
        """This client acting with ``token``; see :meth:`Client.with_token`."""
        view = copy.copy(self)
        view._auth = _bearer(token)
        return view

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs["headers"] = {**self._auth, **kwargs.get("headers", {})}
        delays = self._policy.delays()
        while True:
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                delay = next(delays, None)
                if delay is None:
                    raise TransportFailed(0, {"detail": str(exc)}) from exc
                await asyncio.sleep(delay)
                continue
            if response.status_code in _RETRY_STATUSES:
                delay = next(delays, None)
                if delay is not None:
                    await asyncio.sleep(max(delay, _retry_after(response)))
                    continue
            if response.is_error:
                raise _error_for(response)
            return response

    async def list(self, collection: str, /, **params: Any) -> dict[str, Any]:
        """A page of ``collection``; see :meth:`Client.list`."""
        result: dict[str, Any] = (
            await self._call("GET", f"/v1/{collection}", params=params)
        ).json()
        return result

    async def get(self, collection: str, item_id: Any) -> dict[str, Any]:
        result: dict[str, Any] = (await self._call("GET", f"/v1/{collection}/{item_id}")).json()
        return result

    async def query(self, name: str, /, **params: Any) -> dict[str, Any]:
        """Run the service's named query ``name``; see :meth:`Client.query`."""
        response = await self._call("GET", f"/v1/queries/{name}", params=params)
        result: dict[str, Any] = response.json()
        return result

    async def create(
        self, collection: str, data: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        headers = _write_headers(idempotency_key)
        response = await self._call("POST", f"/v1/{collection}", json=data, headers=headers)
        result: dict[str, Any] = response.json()
        return result

    async def update(
        self,
        collection: str,
        item_id: Any,
        changes: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = _write_headers(idempotency_key)
        response = await self._call(
            "PATCH", f"/v1/{collection}/{item_id}", json=changes, headers=headers
        )
        result: dict[str, Any] = response.json()
        return result

    async def delete(
        self, collection: str, item_id: Any, *, idempotency_key: str | None = None
    ) -> None:
        headers = _write_headers(idempotency_key)
        await self._call("DELETE", f"/v1/{collection}/{item_id}", headers=headers)

    async def delete_many(
        self, collection: str, item_ids: Sequence[Any], *, idempotency_key: str | None = None
    ) -> None:
        """Delete all of ``item_ids`` or none; see :meth:`Client.delete_many`."""
        headers = _write_headers(idempotency_key)
        params = [("id", str(item_id)) for item_id in item_ids]
        await self._call("DELETE", f"/v1/{collection}", params=params, headers=headers)

    async def aclose(self) -> None:
        await self._http.aclose()
