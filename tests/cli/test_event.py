"""``faasify event`` prints every shape faasify takes, and ``faasify invoke`` takes it."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faasify import handler
from faasify.adapters.aws.events import read_result
from faasify.adapters.aws.records import record_source
from faasify.cli._platforms import platform_factory
from faasify.cli.event import HTTP_SHAPES, OTHER_SHAPES, make_event
from faasify.local.platform_events import PLATFORM_FORMATS, read_platform_result
from tests.cli.conftest import faasify

_FLASK = None


def _flask_handler() -> Any:
    """The conftest's echo app, behind faasify.handler (built once for these tests)."""
    global _FLASK
    if _FLASK is None:
        from tests.cli.conftest import APP

        namespace: dict[str, Any] = {"__name__": "cli_event_app"}
        exec(compile(APP, "app.py", "exec"), namespace)
        _FLASK = namespace["lambda_handler"]
    return _FLASK


def _printed(*args: str, cwd: Path) -> dict[str, Any]:
    completed = faasify("event", *args, cwd=cwd)
    assert completed.returncode == 0, completed.stderr
    event: dict[str, Any] = json.loads(completed.stdout)
    return event


@pytest.mark.parametrize("shape", HTTP_SHAPES)
def test_every_http_shape_carries_the_request_to_the_app(shape: str, tmp_path: Path) -> None:
    event = _printed(
        shape,
        *("--method", "post", "--path", "/todos/caf%C3%A9", "--query", "q=milk&q=eggs"),
        *("--header", "X-Probe: 42", "--body", '{"text": "milk"}'),
        cwd=tmp_path,
    )
    if shape in PLATFORM_FORMATS:
        app = _flask_handler().app
        answer = read_platform_result(shape, platform_factory(shape)(app)(event, None))
    else:
        answer = read_result(_flask_handler()(event, None))
    seen = json.loads(answer.body)
    # An ALB without multi-value headers (and VPC Lattice 1.0) passes the last value
    # of a repeated parameter only.
    query = ["eggs"] if shape in ("alb", "vpc-lattice-v1") else ["milk", "eggs"]
    assert seen == {
        "method": "POST",
        "path": "/todos/café",
        "query": {"q": query},
        "header": "42",
        "body": '{"text": "milk"}',
    }


def test_the_body_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "body.json").write_text('{"from": "file"}')
    event = _printed("http-api-v2", "--method", "PUT", "--body", "@body.json", cwd=tmp_path)
    assert json.loads(read_result(_flask_handler()(event, None)).body)["body"] == (
        '{"from": "file"}'
    )


def _routed(shape: str) -> Any:
    """A handler whose on_<shape> function keeps what it was given."""
    seen: list[Any] = []
    lambda_handler = handler(lambda environ, start_response: [])
    if shape != "warmup":
        getattr(lambda_handler, f"on_{shape}")(seen.append)
    lambda_handler.seen = seen  # type: ignore[attr-defined]
    return lambda_handler


@pytest.mark.parametrize("shape", [s for s in OTHER_SHAPES if s != "warmup"])
def test_every_other_shape_reaches_its_on_function(shape: str, tmp_path: Path) -> None:
    event = _printed(shape, cwd=tmp_path)
    assert record_source(event) == shape
    lambda_handler = _routed(shape)
    result = lambda_handler(event, None)
    assert len(lambda_handler.seen) == 1
    if shape in ("sqs", "kinesis", "dynamodb"):
        assert result == {"batchItemFailures": []}
    lambda_handler.close()


@pytest.mark.parametrize(
    ("shape", "payload"),
    [
        ("sqs", lambda record: record["body"]),
        ("sns", lambda record: record["Sns"]["Message"]),
        ("kinesis", lambda record: base64.b64decode(record["kinesis"]["data"]).decode()),
        ("eventbridge", lambda event: json.dumps(event["detail"])),
    ],
)
def test_body_is_the_payload_of_the_record(shape: str, payload: Any, tmp_path: Path) -> None:
    event = _printed(shape, "--body", '{"todo": 17}', cwd=tmp_path)
    lambda_handler = _routed(shape)
    lambda_handler(event, None)
    assert payload(lambda_handler.seen[0]) == '{"todo": 17}'
    if shape == "sqs":
        import hashlib

        assert event["Records"][0]["md5OfBody"] == hashlib.md5(b'{"todo": 17}').hexdigest()
    lambda_handler.close()


def test_the_warmup_event_is_answered_without_the_app() -> None:
    lambda_handler = handler(lambda environ, start_response: [])
    assert make_event("warmup") == {"source": "serverless-plugin-warmup"}
    lambda_handler(make_event("warmup"), None)
    assert lambda_handler.invocations == 1
    lambda_handler.close()


def test_event_output_pipes_into_invoke(project: Path) -> None:
    """The quickstart's pipe: two processes, as a shell runs them."""
    maker = subprocess.Popen(
        [sys.executable, "-m", "faasify.cli", "event", "http-api-v2", "--path", "/piped"],
        stdout=subprocess.PIPE,
        cwd=project,
    )
    completed = subprocess.run(
        [sys.executable, "-m", "faasify.cli", "invoke", "app:app"],
        stdin=maker.stdout,
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
        check=False,
    )
    assert maker.stdout is not None
    maker.stdout.close()
    assert maker.wait(timeout=60) == 0
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["path"] == "/piped"


@pytest.mark.parametrize("shape", PLATFORM_FORMATS)
def test_invoke_wraps_an_app_for_the_event_format_it_is_given(shape: str, project: Path) -> None:
    """``faasify invoke --event-format``: the app behind that platform's factory."""
    event = make_event(shape, path="/piped", query="q=1")
    completed = subprocess.run(
        [sys.executable, "-m", "faasify.cli", "invoke", "app:app", "--event-format", shape],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer = read_platform_result(shape, json.loads(completed.stdout))
    assert answer.status == 200
    assert json.loads(answer.body)["path"] == "/piped"
