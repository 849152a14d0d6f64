"""Streamed responses, byte for byte as the Runtime API receives them.

Each test runs ``faasify runtime --invoke-mode response-stream`` against the
recording Runtime API and checks what arrived: the request's headers, the
chunks (their boundaries and order) and the trailers.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from faasify.adapters.aws.events import build_event
from tests.adapters.aws.runtime.conftest import APPS
from tests.support.runtime.recorder import Chunk, Recorded

STREAM = ("--invoke-mode", "response-stream")
BASE = "/2018-06-01/runtime"


def url_event(path: str, query: str = "") -> dict[str, Any]:
    event: dict[str, Any] = build_event("function-url", "GET", path, query)
    return event


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The prelude and the body of a streamed HTTP response."""
    head, delimiter, body = data.partition(b"\0" * 8)
    assert delimiter, f"no prelude delimiter in {data[:200]!r}"
    prelude: dict[str, Any] = json.loads(head)
    return prelude, body


def test_the_request_is_the_documented_streaming_post(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler", *STREAM)
    request_id = run.api.invoke(url_event("/cookies"), invocation_id="attempt-7")
    post: Recorded = run.api.answer(request_id)
    assert post.method == "POST"
    assert post.path == f"{BASE}/invocation/{request_id}/response"
    names = [name for name, _ in post.headers]
    # The headers AWS's Node.js runtime sends, in its order, and the invocation id.
    assert names == [
        "Host",
        "User-Agent",
        "Lambda-Runtime-Function-Response-Mode",
        "Trailer",
        "Content-Type",
        "Transfer-Encoding",
        "Lambda-Runtime-Invocation-Id",
    ]
    assert post.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    assert post.header("Trailer") == (
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    assert post.header("Content-Type") == "application/vnd.awslambda.http-integration-response"
    assert post.header("Transfer-Encoding") == "chunked"
    assert post.header("Lambda-Runtime-Invocation-Id") == "attempt-7"
    assert post.complete
    assert post.trailers == []
    prelude, body = split(post.data)
    assert prelude == {
        "statusCode": 200,
        "headers": {
            "content-length": "12",
            "content-type": "text/plain; charset=utf-8",
            "x-repeat": "a, b",
        },
        "cookies": [
            "a=1; Path=/; SameSite=lax",
            "b=2; Path=/; SameSite=lax",
        ],
    }
    assert body == b"with cookies"
    # The prelude, its delimiter and a small body travel as one chunk.
    assert post.chunks is not None
    assert len(post.chunks) == 1
    status, _, _ = run.finish()
    assert status == 70  # the recording API's 500: the runtime exits as it must


def test_each_event_is_its_own_chunk_and_the_first_arrives_before_the_last_is_made(
    runtime: Any, tmp_path: Path
) -> None:
    seen_at_first: list[list[str]] = []

    def on_chunk(request: Recorded, chunk: Chunk) -> None:
        if b"event 0" in chunk.data:
            seen_at_first.append(sorted(p.name for p in tmp_path.iterdir()))
            (tmp_path / "go").write_text("", encoding="utf-8")

    run = runtime(f"{APPS}:asgi_handler", *STREAM)
    run.api.on_chunk = on_chunk
    request_id = run.api.invoke(url_event("/sse", f"n=3&dir={tmp_path}"))
    post = run.api.answer(request_id)
    # When the first event reached the Runtime API the app had not made the
    # last: that one waits for "go", which only this arrival creates. (The
    # app may be one event ahead: it runs on while a chunk is on the wire.)
    assert len(seen_at_first) == 1
    assert "produced-0" in seen_at_first[0]
    assert "produced-2" not in seen_at_first[0]
    assert post.chunks is not None
    prelude, first = split(post.chunks[0].data)
    assert prelude["statusCode"] == 200
    assert prelude["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    assert first == b"id: 0\ndata: event 0\n\n"
    assert [c.data for c in post.chunks[1:]] == [
        b"id: 1\ndata: event 1\n\n",
        b"id: 2\ndata: event 2\n\n",
    ]
    assert [c.at for c in post.chunks] == sorted(c.at for c in post.chunks)
    assert (tmp_path / "generator-closed").exists()
    run.finish()


def test_a_wsgi_generator_streams_row_by_row(runtime: Any, tmp_path: Path) -> None:
    seen_at_first: list[list[str]] = []

    def on_chunk(request: Recorded, chunk: Chunk) -> None:
        if b"row 0" in chunk.data:
            seen_at_first.append(sorted(p.name for p in tmp_path.iterdir()))
            (tmp_path / "go").write_text("", encoding="utf-8")

    run = runtime(f"{APPS}:wsgi_handler", *STREAM)
    run.api.on_chunk = on_chunk
    request_id = run.api.invoke(url_event("/stream", f"n=3&dir={tmp_path}"))
    post = run.api.answer(request_id)
    assert len(seen_at_first) == 1
    assert "produced-0" in seen_at_first[0]
    assert "produced-2" not in seen_at_first[0]
    assert post.chunks is not None
    prelude, first = split(post.chunks[0].data)
    assert prelude["statusCode"] == 200
    assert prelude["headers"]["content-type"] == "text/csv; charset=utf-8"
    assert first == b"row 0\n"
    assert [c.data for c in post.chunks[1:]] == [b"row 1\n", b"row 2\n"]
    run.finish()


def test_an_app_that_raises_mid_stream_ends_it_with_the_error_trailers(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler", *STREAM)
    request_id = run.api.invoke(url_event("/boom-mid"))
    post = run.api.answer(request_id)
    prelude, body = split(post.data)
    assert prelude["statusCode"] == 200
    assert body == b"first part;"  # cut short
    assert [name for name, _ in post.trailers] == [
        "Lambda-Runtime-Function-Error-Type",
        "Lambda-Runtime-Function-Error-Body",
    ]
    assert post.trailer("Lambda-Runtime-Function-Error-Type") == "RuntimeError"
    error = json.loads(base64.b64decode(post.trailer("Lambda-Runtime-Function-Error-Body") or ""))
    assert error["errorType"] == "RuntimeError"
    # The app's message stays in the log; the trailer says where to look.
    assert "broke mid-stream" not in json.dumps(error)
    _, out, _ = run.finish()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["message"] for line in lines] == ["unhandled exception in app"]
    assert lines[0]["error"] == "RuntimeError: broke mid-stream"
    assert lines[0]["request_id"] == request_id


def test_a_wsgi_app_that_raises_mid_stream_ends_it_with_the_error_trailers(runtime: Any) -> None:
    run = runtime(f"{APPS}:wsgi_handler", *STREAM)
    request_id = run.api.invoke(url_event("/boom-mid"))
    post = run.api.answer(request_id)
    _, body = split(post.data)
    assert body == b"first row\n"
    assert post.trailer("Lambda-Runtime-Function-Error-Type") == "RuntimeError"
    run.finish()


def test_an_app_that_raises_before_its_head_gets_a_whole_500(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler", *STREAM)
    request_id = run.api.invoke(url_event("/boom-early"))
    post = run.api.answer(request_id)
    prelude, body = split(post.data)
    assert prelude["statusCode"] == 500
    assert prelude["headers"]["content-type"] == "text/plain; charset=utf-8"
    assert body == b"Internal Server Error"
    assert post.trailers == []
    _, out, _ = run.finish()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["message"] for line in lines] == ["unhandled exception in app"]
    assert lines[0]["error"] == "RuntimeError: broke before the response"


def test_a_reader_that_goes_away_stops_the_generator_and_the_loop_goes_on(
    runtime: Any, tmp_path: Path
) -> None:
    run = runtime(f"{APPS}:asgi_handler", *STREAM)
    run.api.drop_stream_after = 3
    dropped = run.api.invoke(url_event("/endless", f"dir={tmp_path}"))
    run.api.wait_for(lambda requests: [r for r in run.api.posts(dropped) if r.ended])
    after = run.api.invoke(url_event("/hello"))
    prelude, body = split(run.api.answer(after).data)
    assert prelude["statusCode"] == 200
    assert json.loads(body)["path"] == "/hello"
    # The generator was closed (its finally ran) before the next invocation.
    stopped = int((tmp_path / "stopped").read_text(encoding="utf-8"))
    assert stopped >= 3
    _, out, _ = run.finish()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["message"] for line in lines] == ["stream reader went away"]
    assert lines[0]["request_id"] == dropped


def test_a_stream_past_its_limit_is_ended_with_an_error(runtime: Any) -> None:
    limit = 300_000
    run = runtime(f"{APPS}:asgi_handler", *STREAM, FAASIFY_STREAM_LIMIT=str(limit))
    request_id = run.api.invoke(url_event("/download", "mb=1"))
    post = run.api.answer(request_id)
    assert post.trailer("Lambda-Runtime-Function-Error-Type") == "Function.ResponseSizeTooLarge"
    _, body = split(post.data)
    assert 0 < len(body) <= limit
    _, out, _ = run.finish()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["message"] for line in lines] == ["streamed response over its size limit"]
    assert lines[0]["limit_bytes"] == limit


def test_a_large_download_goes_in_the_apps_chunks(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler", *STREAM)
    request_id = run.api.invoke(url_event("/download", "mb=2"))
    post = run.api.answer(request_id)
    assert post.chunks is not None
    prelude, first = split(post.chunks[0].data)
    assert prelude["headers"]["content-disposition"] == 'attachment; filename="data.bin"'
    sizes = [len(first)] + [c.size for c in post.chunks[1:]]
    assert sizes == [64 * 1024] * 32
    assert post.trailers == []
    run.finish()


def test_a_plain_function_handler_streams_its_http_answer(runtime: Any) -> None:
    run = runtime(f"{APPS}:plain_function", *STREAM)
    request_id = run.api.invoke(url_event("/echo"))
    post = run.api.answer(request_id)
    prelude, body = split(post.data)
    assert prelude == {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "cookies": ["c=3"],
    }
    assert json.loads(body) == {"echo": "/echo"}
    run.finish()


def test_the_invoke_mode_comes_from_the_environment_too(runtime: Any) -> None:
    run = runtime(f"{APPS}:asgi_handler", FAASIFY_INVOKE_MODE="response-stream")
    request_id = run.api.invoke(url_event("/hello"))
    post = run.api.answer(request_id)
    assert post.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    run.finish()
