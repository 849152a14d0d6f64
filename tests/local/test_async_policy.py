"""The pieces of asynchronous invocations that need no runtime: policy, envelope, options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faasify import ConfigurationError
from faasify.local.async_invoke import (
    AsyncInvocationPolicy,
    Destination,
    QueuedEvent,
    parse_destination,
)
from faasify.local.async_invoke.envelope import EnvelopeError, decode, encode

ROOT = Path(__file__).resolve().parents[2]


def test_retries_wait_as_lambda_does_doubling_from_the_backoff() -> None:
    policy = AsyncInvocationPolicy()
    assert (policy.maximum_retry_attempts, policy.maximum_event_age) == (2, 21600.0)
    assert [policy.retry_delay(n) for n in (1, 2)] == [60.0, 120.0]
    assert [policy.backoff_delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert policy.backoff_delay(30) == 60.0


@pytest.mark.parametrize(
    "options",
    [{"maximum_retry_attempts": 3}, {"maximum_retry_attempts": -1}, {"maximum_event_age": 0}],
)
def test_a_policy_lambda_would_refuse_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        AsyncInvocationPolicy(**options)  # type: ignore[arg-type]


def test_destinations_are_a_file_or_a_subject() -> None:
    assert parse_destination("file:/tmp/failed.jsonl") == Destination("file", "/tmp/failed.jsonl")
    assert str(parse_destination("nats:orders.failed")) == "nats:orders.failed"
    for wrong in ("failed.jsonl", "s3:bucket", "nats:orders.*", "file:"):
        with pytest.raises(ConfigurationError):
            parse_destination(wrong)


def test_an_envelope_survives_its_encoding_and_junk_is_named() -> None:
    event = QueuedEvent({"order": 1}, "openfaas", callback_url="http://127.0.0.1:9/x")
    assert decode(encode(event)) == event
    for junk, reason in (
        (b"{nope", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"payload": 1}', "no id"),
        (b'{"id": "a", "payload": 1, "source": "sqs"}', "unknown source"),
        (b'{"id": "a", "payload": 1, "attempts": "many"}', "a field of the message is wrong"),
    ):
        with pytest.raises(EnvelopeError, match=reason):
            decode(junk)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--on-failure", "s3:bucket"], "give file:/path/to/failed.jsonl or nats:subject"),
        (["--on-failure", "nats:failed"], "--on-failure nats:SUBJECT needs --queue nats://"),
        (["--queue", "redis://127.0.0.1"], "give memory or nats://HOST:PORT"),
        (["--async-max-age", "0"], "maximum_event_age must be positive"),
    ],
)
def test_wrong_async_options_are_one_line(options: list[str], message: str) -> None:
    command = [sys.executable, "-m", "faasify.cli", "local", "tests.support.local.async_apps:job"]
    done = subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
