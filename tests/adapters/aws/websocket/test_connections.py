"""The signed ``@connections`` client against a local stand-in of the management API.

The stand-in (a Starlette app on uvicorn, on loopback) records each request and
checks its signature the way AWS does: it rebuilds the canonical request from
what it received and signs it with the same secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from faasify.adapters.aws.websocket.connections import (
    ConnectionGoneError,
    ConnectionsError,
    SignedConnections,
    connections_for,
)
from faasify.adapters.aws.websocket.sigv4 import Credentials, canonical_request

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDENTIALS = Credentials("AKIDEXAMPLE", SECRET, "session-token-1")


def _signature_holds(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> bool:
    authorization = headers["authorization"]
    signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/", 1)[1]
    day, region, service, _ = scope.split("/")
    creq, _ = canonical_request(
        method, raw_path, "", [(n, headers[n]) for n in signed], hashlib.sha256(body).hexdigest()
    )
    to_sign = "\n".join(
        (
            "AWS4-HMAC-SHA256",
            headers["x-amz-date"],
            scope,
            hashlib.sha256(creq.encode()).hexdigest(),
        )
    )
    key = ("AWS4" + SECRET).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return authorization.endswith(f"Signature={expected}")


class ManagementApi:
    """Records ``@connections`` requests; ids in ``gone`` answer 410."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        self.requests: list[dict[str, Any]] = []
        self.gone = {"gone-id="}

        async def connection(request: Request) -> Response:
            body = await request.body()
            raw_path = request.scope["raw_path"].decode()
            headers = dict(request.headers)
            self.requests.append(
                {
                    "method": request.method,
                    "raw_path": raw_path,
                    "body": body,
                    "headers": headers,
                    "signed": _signature_holds(request.method, raw_path, headers, body),
                }
            )
            if request.path_params["cid"] in self.gone:
                return Response(b'{"message": "Gone"}', 410)
            if request.path_params["cid"] == "broken=":
                return Response(b"nope", 500)
            return Response(b"", 200)

        app = Starlette(
            routes=[Route("/dev/@connections/{cid}", connection, methods=["POST", "DELETE"])]
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/dev"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "the stand-in did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def api() -> Iterator[ManagementApi]:
    found = ManagementApi()
    yield found
    found.stop()


def _run(coroutine: Any) -> Any:
    return asyncio.new_event_loop().run_until_complete(coroutine)


def test_a_send_is_a_signed_post_to_the_encoded_connection(api: ManagementApi) -> None:
    client = SignedConnections(api.url, credentials=CREDENTIALS, region="us-east-1")

    async def go() -> None:
        await client.send("R0oXAdfD0kwCH6w=", b'{"todo": 1}')
        await client.close("R0oXAdfD0kwCH6w=")
        await client.aclose()

    _run(go())
    post, delete = api.requests[-2:]
    assert post["method"] == "POST"
    assert post["raw_path"] == "/dev/%40connections/R0oXAdfD0kwCH6w%3D"
    assert post["body"] == b'{"todo": 1}'
    assert post["headers"]["x-amz-security-token"] == "session-token-1"
    assert "/us-east-1/execute-api/aws4_request" in post["headers"]["authorization"]
    assert post["signed"] is True
    assert delete["method"] == "DELETE"
    assert delete["signed"] is True


def test_a_gone_connection_and_a_refusal_are_told_apart(api: ManagementApi) -> None:
    client = SignedConnections(api.url, credentials=CREDENTIALS, region="us-east-1")

    async def go() -> tuple[BaseException | None, BaseException | None]:
        errors: list[BaseException | None] = []
        for cid in ("gone-id=", "broken="):
            try:
                await client.send(cid, b"x")
            except ConnectionsError as exc:
                errors.append(exc)
        await client.aclose()
        return errors[0], errors[1]

    gone, broken = _run(go())
    assert isinstance(gone, ConnectionGoneError)
    assert gone.connection_id == "gone-id="
    assert isinstance(broken, ConnectionsError)
    assert not isinstance(broken, ConnectionGoneError)
    assert "500" in str(broken)


def test_credentials_and_region_come_from_the_functions_environment(
    api: ManagementApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "from-the-environment")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = connections_for(api.url, use_boto3=False)
    assert isinstance(client, SignedConnections)

    async def go() -> None:
        await client.send("abc=", b"hi")
        await client.aclose()

    _run(go())
    last = api.requests[-1]
    assert last["headers"]["x-amz-security-token"] == "from-the-environment"
    assert "/eu-west-1/execute-api/" in last["headers"]["authorization"]
    assert last["signed"] is True


def test_the_region_is_read_from_an_execute_api_endpoint() -> None:
    client = SignedConnections(
        "https://abc.execute-api.ap-south-1.amazonaws.com/prod", credentials=CREDENTIALS
    )
    assert client._region == "ap-south-1"
