"""The ``faasify`` parser: every subcommand's options, help and example, and the dispatch."""

from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType

from faasify._exceptions import FaasifyError
from faasify._version import __version__
from faasify.cli import event, invoke, local, package, runtime, serve
from faasify.cli._errors import CommandError
from faasify.cli._help import HelpFormatter

__all__ = ["COMMANDS", "build_parser", "main"]

#: One module per subcommand, in the order ``--help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (serve, local, invoke, event, package, runtime)

DESCRIPTION = """\
faasify: run WSGI and ASGI apps as FaaS functions. Serve a handler or invoke it
on your machine, run it on a local FaaS runtime, print sample events, build its
deployment zip for AWS Lambda, and run it there as its own runtime."""


def _examples(lines: tuple[str, ...]) -> str:
    heading = "example:" if len(lines) == 1 else "examples:"
    return heading + "\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``faasify`` and of each subcommand in :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="faasify",
        description=DESCRIPTION,
        epilog="examples:\n"
        + "\n".join(f"  {command.EXAMPLES[0]}" for command in COMMANDS)
        + "\n\n`faasify COMMAND --help` tells each command's options and defaults.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"faasify {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )
    for command in COMMANDS:
        sub = commands.add_parser(
            command.NAME,
            help=command.SUMMARY,
            description=command.DESCRIPTION,
            epilog=_examples(command.EXAMPLES),
            formatter_class=HelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``faasify`` with ``argv`` (default: the process's); the exit status."""
    args = build_parser().parse_args(argv)
    if args.command in ("serve", "local", "invoke"):
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        status: int = args.run(args)
    except CommandError as exc:
        if exc.detail:
            sys.stderr.write(exc.detail)
        print(f"faasify {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except FaasifyError as exc:  # a refusal faasify worded already, e.g. an app it cannot wrap
        print(f"faasify {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status
