"""Non-HTTP events routed to registered functions, with each source's batch semantics."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from faasify import LambdaHandler, RecordsFailedError, UnsupportedEventError, handler
from faasify.adapters.aws.events import build_event, read_result
from tests.conftest import load_event
from tests.support.apps import starlette_app


def sqs(*bodies: str, fifo: bool = False) -> dict[str, Any]:
    arn = "arn:aws:sqs:us-east-1:123456789012:jobs" + (".fifo" if fifo else "")
    return {
        "Records": [
            {"messageId": f"m{i}", "body": body, "eventSource": "aws:sqs", "eventSourceARN": arn}
            for i, body in enumerate(bodies)
        ]
    }


def stream(source: str, *payloads: str) -> dict[str, Any]:
    if source == "kinesis":
        records = [
            {"eventSource": "aws:kinesis", "kinesis": {"sequenceNumber": f"s{i}", "data": p}}
            for i, p in enumerate(payloads)
        ]
    else:
        records = [
            {"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": f"s{i}", "Keys": p}}
            for i, p in enumerate(payloads)
        ]
    return {"Records": records}


@pytest.fixture
def h() -> LambdaHandler:
    return handler(starlette_app())


def test_sqs_reports_exactly_the_failed_messages(
    h: LambdaHandler, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    @h.on_sqs
    def work(record: dict[str, Any]) -> None:
        seen.append(record["body"])
        if record["body"].startswith("bad"):
            raise ValueError(f"cannot process {record['body']}")

    with caplog.at_level(logging.ERROR, logger="faasify.records"):
        result = h(sqs("ok-1", "bad-1", "ok-2", "bad-2"), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert seen == ["ok-1", "bad-1", "ok-2", "bad-2"]
    logged = [json.loads(r.getMessage()) for r in caplog.records]
    assert [line["record_id"] for line in logged] == ["m1", "m3"]
    assert "ValueError: cannot process bad-1" in logged[0]["error"]


def test_sqs_all_good_reports_no_failures(h: LambdaHandler) -> None:
    h.on_sqs(lambda record: None)
    assert h(load_event("sqs"), None) == {"batchItemFailures": []}


def test_fifo_queue_stops_at_the_first_failure_to_keep_order(h: LambdaHandler) -> None:
    seen: list[str] = []

    @h.on_sqs
    def work(record: dict[str, Any]) -> None:
        seen.append(record["body"])
        if record["body"] == "bad":
            raise RuntimeError("no")

    result = h(sqs("a", "bad", "c", "d", fifo=True), None)
    assert seen == ["a", "bad"]
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["m1", "m2", "m3"]


@pytest.mark.parametrize("source", ["kinesis", "dynamodb"])
def test_streams_stop_at_the_first_failure_and_report_it(h: LambdaHandler, source: str) -> None:
    seen: list[Any] = []

    def work(record: dict[str, Any]) -> None:
        payload = record["kinesis"]["data"] if source == "kinesis" else record["dynamodb"]["Keys"]
        seen.append(payload)
        if payload == "bad":
            raise RuntimeError("no")

    getattr(h, f"on_{source}")(work)
    result = h(stream(source, "a", "b", "bad", "d"), None)
    assert seen == ["a", "b", "bad"]
    assert result == {"batchItemFailures": [{"itemIdentifier": "s2"}]}


def test_sns_failure_raises_so_lambda_retries(h: LambdaHandler) -> None:
    @h.on_sns
    def work(record: dict[str, Any]) -> None:
        if record["Sns"]["Message"] == "bad":
            raise RuntimeError("no")

    event = {
        "Records": [
            {"EventSource": "aws:sns", "Sns": {"MessageId": "n1", "Message": "ok"}},
            {"EventSource": "aws:sns", "Sns": {"MessageId": "n2", "Message": "bad"}},
        ]
    }
    with pytest.raises(RecordsFailedError) as caught:
        h(event, None)
    assert caught.value.failed == ["n2"]


def test_s3_records_are_processed(h: LambdaHandler) -> None:
    keys: list[str] = []
    h.on_s3(lambda record: keys.append(record["s3"]["object"]["key"]))
    event = {
        "Records": [
            {"eventSource": "aws:s3", "s3": {"object": {"key": "a.txt"}}},
            {"eventSource": "aws:s3", "s3": {"object": {"key": "b.txt"}}},
        ]
    }
    assert h(event, None) == {"processed": 2}
    assert keys == ["a.txt", "b.txt"]


def test_eventbridge_schedule_gets_the_whole_event_with_context(h: LambdaHandler) -> None:
    calls: list[tuple[str, object]] = []
    context = object()

    @h.on_eventbridge
    def tick(event: dict[str, Any], ctx: Any) -> str:
        calls.append((event["detail-type"], ctx))
        return "done"

    assert h(load_event("eventbridge-scheduled"), context) == "done"
    assert calls == [("Scheduled Event", context)]


def test_async_route_runs_on_the_instance_loop_beside_the_app(h: LambdaHandler) -> None:
    loops: list[int] = []

    @h.on_sqs
    async def work(record: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        loops.append(id(asyncio.get_running_loop()))

    assert h(sqs("a", "b"), None) == {"batchItemFailures": []}
    assert loops == [id(h.loop), id(h.loop)]
    # The web app still answers on the same instance.
    assert read_result(h(build_event("http-api-v2", "GET", "/echo/x"), None)).status == 200


def test_unregistered_source_names_it_and_the_decorator(h: LambdaHandler) -> None:
    with pytest.raises(UnsupportedEventError, match=r"SQS.*on_sqs"):
        h(load_event("sqs"), None)


def test_one_function_per_source(h: LambdaHandler) -> None:
    h.on_sqs(lambda record: None)
    with pytest.raises(Exception, match="already registered"):
        h.on_sqs(lambda record: None)
