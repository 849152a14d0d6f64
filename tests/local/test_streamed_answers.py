"""The local Runtime API's side of a streamed answer, and its invocation-id checks."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from faasify.local.runtime.api import Invocation, RuntimeAPI
from faasify.local.runtime.streaming import PRELUDE_LIMIT, StreamedAnswer, StreamEnded

HTTP = "application/vnd.awslambda.http-integration-response"


def run(body: Any) -> Any:
    return asyncio.run(body())


async def _drain(answer: StreamedAnswer) -> list[bytes]:
    return [chunk async for chunk in answer.body()]


def test_the_prelude_is_read_across_chunks_then_the_body_streams() -> None:
    async def body() -> tuple[Any, list[bytes]]:
        answer = StreamedAnswer(HTTP, lambda: None)
        prelude = json.dumps(
            {"statusCode": 206, "headers": {"x-a": "1"}, "cookies": ["c=1"]}
        ).encode()
        await answer.feed(prelude[:5])
        assert not answer.head.done()
        await answer.feed(prelude[5:] + b"\0" * 8 + b"first")
        head = answer.head.result()
        drained = asyncio.ensure_future(_drain(answer))
        await answer.feed(b"second")
        await answer.end([])
        return head, await drained

    head, chunks = run(body)
    assert head == (206, [("x-a", "1"), ("set-cookie", "c=1")])
    assert chunks == [b"first", b"second"]


def test_a_prelude_that_never_ends_is_refused_at_16_kb() -> None:
    aborted: list[bool] = []

    async def body() -> StreamEnded:
        answer = StreamedAnswer(HTTP, lambda: aborted.append(True))
        await answer.feed(b"{" + b" " * PRELUDE_LIMIT)
        with pytest.raises(StreamEnded, match="16 KB"):
            await answer.head
        return answer.done.result()  # type: ignore[return-value]

    assert "16 KB" in str(run(body))
    assert aborted == [True]


def test_the_error_trailers_end_the_body_short_with_the_reason() -> None:
    async def body() -> list[bytes]:
        answer = StreamedAnswer(HTTP, lambda: None)
        await answer.feed(b'{"statusCode":200}' + b"\0" * 8 + b"part")
        error = base64.b64encode(json.dumps({"errorMessage": "it broke"}).encode()).decode()
        drained: list[bytes] = []
        await answer.end(
            [
                ("Lambda-Runtime-Function-Error-Type", "RuntimeError"),
                ("Lambda-Runtime-Function-Error-Body", error),
            ]
        )

        async def read() -> None:
            async for chunk in answer.body():
                drained.append(chunk)

        with pytest.raises(StreamEnded, match="it broke") as raised:
            await read()
        assert raised.value.error_type == "RuntimeError"
        return drained

    assert run(body) == [b"part"]


def test_a_stream_without_a_prelude_is_a_200_of_its_content_type() -> None:
    async def body() -> Any:
        answer = StreamedAnswer("application/json", lambda: None)
        return answer.head.result()

    assert run(body) == (200, [("content-type", "application/json")])


def test_an_answer_with_another_invocations_id_is_refused_and_a_late_one_is_gone() -> None:
    async def body() -> list[int]:
        api = RuntimeAPI("f")
        invocation = Invocation(b"{}", deadline=0.0)
        await api.inbox.put(invocation)
        status, headers, _ = await api.handle("GET", "/2018-06-01/runtime/invocation/next", [], b"")
        sent = dict(headers)["Lambda-Runtime-Invocation-Id"]
        path = f"/2018-06-01/runtime/invocation/{invocation.request_id}/response"
        wrong, _, _ = await api.handle(
            "POST", path, [("Lambda-Runtime-Invocation-Id", "another")], b"{}"
        )
        assert not invocation.outcome.done()
        right, _, _ = await api.handle(
            "POST", path, [("Lambda-Runtime-Invocation-Id", sent)], b"{}"
        )
        assert invocation.outcome.result() == ("response", b"{}")
        assert invocation.echoed is True
        timed_out = Invocation(b"{}", deadline=0.0)
        await api.inbox.put(timed_out)
        await api.handle("GET", "/2018-06-01/runtime/invocation/next", [], b"")
        api.forget(timed_out)
        late, _, _ = await api.handle(
            "POST", f"/2018-06-01/runtime/invocation/{timed_out.request_id}/response", [], b"{}"
        )
        return [status, wrong, right, late]

    assert run(body) == [200, 400, 202, 410]


def test_the_tenant_goes_out_with_its_invocation() -> None:
    async def body() -> dict[str, str]:
        api = RuntimeAPI("f")
        await api.inbox.put(Invocation(b"{}", deadline=0.0, tenant_id="blue"))
        _, headers, _ = await api.handle("GET", "/2018-06-01/runtime/invocation/next", [], b"")
        return dict(headers)

    assert run(body)["Lambda-Runtime-Aws-Tenant-Id"] == "blue"
