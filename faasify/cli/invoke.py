"""``faasify invoke``: call a handler once with an event and print what it returned."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from faasify._exceptions import UnsupportedEventError
from faasify.cli._errors import CommandError
from faasify.cli._platforms import PLATFORM_FORMATS, platform_factory
from faasify.cli._target import as_handler, kind_of, load_target
from faasify.local.context import LocalContext

__all__ = ["add_arguments", "read_event", "run"]

NAME = "invoke"
SUMMARY = "invoke a handler once with an event (a file, or faasify event's output) and print it"
DESCRIPTION = """\
Call the handler once, in this process, with the event in FILE (or on standard
input) and a Lambda-like context, and print its result as JSON. A WSGI or ASGI
app is wrapped with faasify.handler first, or with the factory of the platform
--event-format names (openwhisk, digitalocean, tencent-scf, huawei-functiongraph)."""
EXAMPLES = (
    "faasify invoke app:lambda_handler --event event.json",
    "faasify event http-api-v2 --path /hello | faasify invoke app:lambda_handler",
    "faasify event huawei-functiongraph --path /hello | faasify invoke app:app "
    "--event-format huawei-functiongraph",
)
_MAKE_ONE = "faasify event http-api-v2 > event.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="MODULE:ATTRIBUTE",
        help="the handler (app:lambda_handler) or the WSGI/ASGI app (app:app)",
    )
    parser.add_argument(
        "--event",
        default="-",
        metavar="FILE",
        help="a JSON event file, or - to read the event from standard input",
    )
    parser.add_argument(
        "--event-format",
        default="aws",
        choices=("aws", *PLATFORM_FORMATS),
        metavar="FORMAT",
        help="the front door an app is wrapped for: aws (every AWS shape, detected; the "
        f"default) or {', '.join(PLATFORM_FORMATS)}",
    )


def read_event(name: str) -> Any:
    """The JSON event in the file ``name`` (``-``: standard input), or a one-line refusal."""
    if name == "-":
        if sys.stdin.isatty():
            raise CommandError(
                "no event: give --event FILE, or pipe one in "
                "(faasify event http-api-v2 | faasify invoke app:lambda_handler)"
            )
        text, where = sys.stdin.read(), "standard input"
    else:
        where = name
        try:
            with open(name, encoding="utf-8") as file:
                text = file.read()
        except FileNotFoundError:
            raise CommandError(
                f"no event file {name}: make one with `{_MAKE_ONE}`, or pass --event - "
                "to read it from standard input"
            ) from None
        except IsADirectoryError:
            raise CommandError(f"{name} is a directory: give --event a JSON file") from None
        except UnicodeDecodeError:
            raise CommandError(f"{name} is not UTF-8 text: an event is a JSON file") from None
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"the event in {where} is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); `{_MAKE_ONE}` writes a valid one"
        ) from None


def run(args: argparse.Namespace) -> int:
    event = read_event(args.event)
    target = load_target(args.target)
    if args.event_format != "aws" and kind_of(target) != "handler":
        handler = platform_factory(args.event_format)(target)
    else:
        handler = as_handler(target, args.target)
    try:
        result = handler(event, LocalContext())
    except UnsupportedEventError as exc:
        shape = "empty ({})" if event == {} else getattr(exc, "shape", "of no known shape")
        raise CommandError(
            f"the event is {shape}: not an HTTP event, and no on_* function of the handler "
            f"takes it. `{_MAKE_ONE}` makes an HTTP one (faasify event --help: every shape)"
        ) from None
    try:
        text = json.dumps(result, indent=2, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise CommandError(
            f"the handler returned something Lambda cannot send back as JSON: {exc}"
        ) from None
    sys.stdout.write(text + "\n")
    return 0
