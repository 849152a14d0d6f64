"""``faasify package``: the command line of :mod:`faasify.package`."""

from __future__ import annotations

import argparse
import sys

from faasify.package import (
    ARCHITECTURES,
    UNZIPPED_LIMIT,
    ZIPPED_LIMIT,
    PackageError,
    build,
    parse_size,
)

__all__ = ["add_arguments", "run"]

NAME = "package"
SUMMARY = "build a function's deployment zip for AWS Lambda (x86_64 or arm64), on any machine"
DESCRIPTION = """\
Build the deployment zip: the function's code where Python imports it from, and
its dependencies installed by pip from manylinux wheels for the function's
architecture and Python version (no compiler, no Docker). What Lambda ships
(the AWS SDK), caches, tests and .env files stay out; the zip is reproducible
and checked against Lambda's size limits before it is written."""
EXAMPLES = ("faasify package examples.todolist --with '.[baas]' --arch arm64 -o dist/function.zip",)


def _size_argument(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``faasify package`` options, on the subcommand's parser."""
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="the function's code: a path (package directory, module, or folder whose "
        "contents go to the zip's root) or an importable name such as examples.todolist",
    )
    parser.add_argument(
        "-r",
        "--requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="a requirements file to install from wheels (repeatable)",
    )
    parser.add_argument(
        "--with",
        dest="with_",
        action="append",
        default=[],
        metavar="SPEC",
        help="a requirement to install from wheels, e.g. 'starlette>=0.37' or '.[baas]' for "
        "a local project (repeatable)",
    )
    parser.add_argument(
        "--arch",
        choices=sorted(ARCHITECTURES),
        default="x86_64",
        help="the function's architecture (default: %(default)s)",
    )
    parser.add_argument(
        "--python",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="the Lambda runtime's Python version (default: this interpreter's, %(default)s)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="dist/function.zip",
        metavar="ZIP",
        help="where the zip is written",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out files or directories matching PATTERN: a name ('*.md', 'docs') "
        "anywhere, or a path from the zip's root ('examples/todolist/deploy') (repeatable)",
    )
    parser.add_argument(
        "--no-default-excludes",
        action="store_true",
        help="keep caches, tests and install records that are left out by default",
    )
    parser.add_argument(
        "--keep-aws-sdk",
        action="store_true",
        help="keep boto3, botocore, s3transfer and jmespath instead of using the runtime's",
    )
    parser.add_argument(
        "--max-zipped",
        type=_size_argument,
        default=ZIPPED_LIMIT,
        metavar="SIZE",
        help="refuse a zip larger than this (default: 50MB, Lambda's direct-upload limit)",
    )
    parser.add_argument(
        "--max-unzipped",
        type=_size_argument,
        default=UNZIPPED_LIMIT,
        metavar="SIZE",
        help="refuse contents larger than this unzipped (default: 250MB, Lambda's limit)",
    )
    parser.add_argument(
        "--pip-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra argument for pip install, e.g. --pip-arg=--index-url=URL (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``faasify package`` with parsed arguments; print the summary or the refusal."""
    if "" not in sys.path:
        sys.path.insert(0, "")  # so that SOURCE names in the current directory resolve
    try:
        package = build(
            args.sources,
            requirements=args.requirements,
            with_=args.with_,
            arch=args.arch,
            python=args.python,
            output=args.output,
            exclude=args.exclude,
            default_excludes=not args.no_default_excludes,
            keep_aws_sdk=args.keep_aws_sdk,
            max_zipped=args.max_zipped,
            max_unzipped=args.max_unzipped,
            pip_args=args.pip_arg,
        )
    except PackageError as exc:
        print(f"faasify package: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # An output that cannot be written, a source file that cannot be read:
        # one line naming the file, not a traceback.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"faasify package: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    print(package.summary(args.max_zipped, args.max_unzipped))
    return 0
