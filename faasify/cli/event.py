"""``faasify event``: print a realistic event of any shape faasify takes.

What ``sam local generate-event`` does, for the shapes of this kit: the HTTP
ones are built for the request the options describe (the builders the local
runtime and the tests use, with each source's quirks), the others are the
samples shipped in ``sample_events/``, with ``--body`` as their payload. The
output goes straight into ``faasify invoke``::

    faasify event http-api-v2 --path /hello | faasify invoke app:lambda_handler
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import sys
from importlib import resources
from typing import Any

from faasify.cli._errors import CommandError
from faasify.local.events import EVENT_FORMATS, build_event
from faasify.local.platform_events import PLATFORM_FORMATS, build_platform_event

__all__ = [
    "HTTP_SHAPES",
    "OTHER_SHAPES",
    "SHAPES",
    "WEBSOCKET_SHAPES",
    "add_arguments",
    "make_event",
    "run",
]

NAME = "event"
SUMMARY = "print a sample event of any shape (HTTP, SQS, S3, ...) for faasify invoke"
DESCRIPTION = """\
Print a realistic event of one shape as JSON. HTTP shapes are built for the
request the options describe; the other shapes are sample records, with --body
as their payload where they carry one (the SQS message body, the SNS message,
the Kinesis data, the EventBridge detail)."""
EXAMPLES = (
    'faasify event http-api-v2 --method POST --path /todos --body \'{"text": "milk"}\' '
    "--header 'Content-Type: application/json' | faasify invoke app:lambda_handler",
    "faasify event sqs --body '{\"todo\": 17}' > sqs.json",
    "faasify event tencent-scf --path /todos | faasify invoke app:app --event-format tencent-scf",
)

HTTP_SHAPES: tuple[str, ...] = (*EVENT_FORMATS, *PLATFORM_FORMATS)
OTHER_SHAPES = ("sqs", "sns", "s3", "eventbridge", "kinesis", "dynamodb", "warmup")
#: API Gateway WebSocket API events: the handshake, one message, the goodbye.
WEBSOCKET_SHAPES = ("websocket-connect", "websocket-message", "websocket-disconnect")
SHAPES = (*HTTP_SHAPES, *WEBSOCKET_SHAPES, *OTHER_SHAPES)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shape",
        choices=SHAPES,
        metavar="SHAPE",
        help=f"the event's shape: {', '.join(HTTP_SHAPES)} (HTTP), "
        f"{', '.join(WEBSOCKET_SHAPES)} (a WebSocket API's), or {', '.join(OTHER_SHAPES)}",
    )
    parser.add_argument("--method", help="the HTTP method (default: GET)")
    parser.add_argument("--path", help="the request path as on the wire (default: /)")
    parser.add_argument(
        "--query", help="the query string, without '?', e.g. 'q=milk&limit=5' (default: none)"
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header, e.g. 'Content-Type: application/json' (repeatable)",
    )
    parser.add_argument(
        "--body",
        help="the request body, or the payload of the record; @FILE reads it from FILE",
    )


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise CommandError(f"--header {text!r} is not 'Name: value' (e.g. 'Accept: text/html')")
    return name.strip(), value.strip()


def _body(text: str | None) -> str | None:
    if text is None or not text.startswith("@"):
        return text
    path = text[1:]
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as exc:
        raise CommandError(f"--body {text}: cannot read {path}: {exc.strerror or exc}") from None


def _sample(shape: str) -> dict[str, Any]:
    text = resources.files("faasify.cli").joinpath(f"sample_events/{shape}.json").read_text()
    event: dict[str, Any] = json.loads(text)
    return event


def _with_payload(shape: str, event: dict[str, Any], body: str) -> dict[str, Any]:
    """The sample with ``body`` where its shape carries a payload."""
    event = copy.deepcopy(event)
    if shape == "eventbridge":
        try:
            event["detail"] = json.loads(body)
        except ValueError:
            raise CommandError("an EventBridge detail is JSON: give --body a JSON object") from None
        return event
    record = event["Records"][0]
    if shape == "sqs":
        record["body"] = body
        record["md5OfBody"] = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    elif shape == "sns":
        record["Sns"]["Message"] = body
    elif shape == "kinesis":
        record["kinesis"]["data"] = base64.b64encode(body.encode()).decode("ascii")
    else:
        raise CommandError(f"a {shape} event carries no payload: leave out --body")
    return event


def make_event(
    shape: str,
    *,
    method: str | None = None,
    path: str | None = None,
    query: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """The event ``faasify event`` prints, as a dict."""
    if shape in HTTP_SHAPES:
        if path is not None and not path.startswith("/"):
            raise CommandError(f"--path {path!r} must start with / (e.g. /todos)")
        build: Any = build_platform_event if shape in PLATFORM_FORMATS else build_event
        built: dict[str, Any] = build(
            shape,
            (method or "GET").upper(),
            path or "/",
            (query or "").lstrip("?"),
            [("User-Agent", "curl/8.5.0"), ("Accept", "*/*"), *(headers or [])],
            (body or "").encode("utf-8"),
        )
        return built
    if shape in WEBSOCKET_SHAPES:
        from faasify.adapters.aws.websocket.events import build_websocket_event

        if method is not None or path is not None:
            raise CommandError(f"a {shape} event has no method or path (--body is the message)")
        kind = shape.removeprefix("websocket-").upper()
        if body is not None and kind != "MESSAGE":
            raise CommandError(f"a {shape} event carries no message: leave out --body")
        return build_websocket_event(
            kind,  # type: ignore[arg-type]
            "faasify-local-connection=",
            body=body,
            headers=headers or (),
            query=(query or "").lstrip("?"),
        )
    if shape not in OTHER_SHAPES:
        raise CommandError(f"no event shape {shape!r}; one of {', '.join(SHAPES)}")
    given = [
        name
        for name, value in (("method", method), ("path", path), ("query", query))
        if value is not None
    ] + (["header"] if headers else [])
    if given:
        raise CommandError(
            f"--{given[0]} is for HTTP events; a {shape} event has no {given[0]} "
            "(use --body for its payload)"
        )
    event = _sample(shape)
    return event if body is None else _with_payload(shape, event, body)


def run(args: argparse.Namespace) -> int:
    event = make_event(
        args.shape,
        method=args.method,
        path=args.path,
        query=args.query,
        headers=[_header(text) for text in args.header],
        body=_body(args.body),
    )
    json.dump(event, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
