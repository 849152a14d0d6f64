"""The ``@connections`` management API: what an app's ``websocket.send`` goes through.

A WebSocket API's function never holds the socket: to send, it POSTs to
``https://{api}.execute-api.{region}.amazonaws.com/{stage}/@connections/{id}``
(and DELETEs there to close), signed with IAM credentials. Two clients speak
it, behind one small interface (:class:`Connections`):

- :class:`Boto3Connections`, boto3's ``apigatewaymanagementapi`` client, when
  boto3 is installed (it is on AWS's Python runtimes); its blocking calls run
  on a thread so that the instance's loop keeps serving;
- :class:`SignedConnections`, httpx and faasify's SigV4 signer
  (:mod:`.sigv4`) with the function's credentials from the environment
  (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``),
  where it is not (a container image, a slim zip).

Both raise :class:`ConnectionGoneError` for a connection that is no longer
there (410), so that an app sending to a list of connections can drop it.
Each is built once per endpoint and kept for the instance's life.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from faasify._exceptions import ConfigurationError, FaasifyError
from faasify.adapters.aws.websocket.sigv4 import Credentials, sign_headers

__all__ = [
    "Boto3Connections",
    "ConnectionGoneError",
    "Connections",
    "ConnectionsError",
    "SignedConnections",
    "connections_for",
]

_REGION = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


class ConnectionsError(FaasifyError):
    """The ``@connections`` API refused a request (not a gone connection)."""


class ConnectionGoneError(ConnectionsError):
    """The connection is closed (410 Gone): the client left."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(f"connection {connection_id!r} is gone")
        self.connection_id = connection_id


class Connections(Protocol):
    """Sends to and closes a WebSocket API's connections, by id."""

    async def send(self, connection_id: str, data: bytes) -> None:
        """Send ``data`` to the client of ``connection_id`` as one message."""
        ...

    async def close(self, connection_id: str) -> None:
        """Close ``connection_id``'s connection."""
        ...


def _region(endpoint: str) -> str:
    found = _REGION.search(urlsplit(endpoint).netloc)
    region = (
        found.group(1)
        if found
        else os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        raise ConfigurationError(
            f"cannot tell the region of {endpoint!r}: set AWS_REGION (Lambda sets it)"
        )
    return region


def _path(endpoint: str, connection_id: str) -> tuple[str, str, str]:
    """``(scheme://host, host, path)`` of a connection's URL, the id encoded."""
    parts = urlsplit(endpoint)
    base = parts.path.rstrip("/")
    return (
        f"{parts.scheme}://{parts.netloc}",
        parts.netloc,
        f"{base}/%40connections/{quote(connection_id, safe='')}",
    )


class SignedConnections:
    """``@connections`` over httpx, each request signed with SigV4.

    ``credentials`` default to the function's, read from the environment
    when the first request is made (Lambda rotates none during an instance's
    life); ``client`` is made on the instance's loop at first use and kept.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        credentials: Credentials | None = None,
        region: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._credentials = credentials
        self._region = region or _region(endpoint)
        self._timeout = timeout
        self._client: Any = None

    def _credentials_now(self) -> Credentials:
        if self._credentials is None:
            key = os.environ.get("AWS_ACCESS_KEY_ID")
            secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
            if not key or not secret:
                raise ConfigurationError(
                    "no AWS credentials for @connections: AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY are unset (Lambda sets them; or install boto3)"
                )
            self._credentials = Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN"))
        return self._credentials

    async def _request(self, method: str, connection_id: str, data: bytes) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        origin, host, path = _path(self.endpoint, connection_id)
        headers = sign_headers(
            method, host, path, "", [], data, self._credentials_now(),
            region=self._region, service="execute-api",
        )  # fmt: skip
        response = await self._client.request(
            method, origin + path, content=data, headers=[h for h in headers if h[0] != "Host"]
        )
        if response.status_code == 410:
            raise ConnectionGoneError(connection_id)
        if response.status_code >= 300:
            raise ConnectionsError(
                f"@connections answered {method} with {response.status_code}: {response.text[:200]}"
            )

    async def send(self, connection_id: str, data: bytes) -> None:
        await self._request("POST", connection_id, data)

    async def close(self, connection_id: str) -> None:
        await self._request("DELETE", connection_id, b"")

    async def aclose(self) -> None:
        """Close the HTTP client (at the instance's shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class Boto3Connections:
    """``@connections`` through boto3's ``apigatewaymanagementapi`` client."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        self.endpoint = endpoint.rstrip("/")
        self._client = boto3.client("apigatewaymanagementapi", endpoint_url=self.endpoint)
        self._gone = self._client.exceptions.GoneException

    async def _call(self, operation: str, **arguments: Any) -> None:
        try:
            await asyncio.to_thread(getattr(self._client, operation), **arguments)
        except self._gone:
            raise ConnectionGoneError(arguments["ConnectionId"]) from None
        except Exception as exc:  # botocore's ClientError and its kin
            raise ConnectionsError(f"@connections {operation} failed: {exc}") from exc

    async def send(self, connection_id: str, data: bytes) -> None:
        await self._call("post_to_connection", ConnectionId=connection_id, Data=data)

    async def close(self, connection_id: str) -> None:
        await self._call("delete_connection", ConnectionId=connection_id)


def connections_for(endpoint: str, *, use_boto3: bool | None = None) -> Connections:
    """A client for ``endpoint``: boto3's when installed (or ``use_boto3``), else signed httpx."""
    if use_boto3 is None:
        from importlib.util import find_spec

        use_boto3 = find_spec("boto3") is not None
    if use_boto3:
        return Boto3Connections(endpoint)
    return SignedConnections(endpoint)
