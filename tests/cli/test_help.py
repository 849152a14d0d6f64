"""``faasify --help`` and each command's help tell the whole story: commands, options,
defaults, an example."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from faasify.cli._main import COMMANDS, build_parser

NAMES = [command.NAME for command in COMMANDS]


def _help(*args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "faasify.cli", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return completed.stdout


def test_the_top_help_lists_every_command_with_an_example_and_no_markup() -> None:
    text = _help()
    assert "`" not in text.split("\n\n`faasify COMMAND --help`")[0]  # no RST backticks
    assert "``" not in text
    description = text.split("\n\n")[1]
    assert description.startswith("faasify: run WSGI and ASGI apps as FaaS functions.")
    assert NAMES == ["serve", "local", "invoke", "event", "package", "runtime"]
    examples = text.split("examples:\n", 1)[1]
    for name in NAMES:
        assert f"\n    {name}  " in text  # listed under commands, with its summary
        assert f"  faasify {name} " in examples


@pytest.mark.parametrize("name", NAMES)
def test_every_option_says_what_it_does_and_its_default(name: str) -> None:
    subparsers = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    parser = subparsers.choices[name]
    text = _help(name)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name} {action.option_strings or action.dest} has no help"
        formatted = parser.formatter_class(prog="faasify")._get_help_string(action)
        if action.option_strings:
            assert "(default: " in formatted, f"{name} {action.option_strings}: {formatted}"
    assert "example" in text.split("\n\n")[-1]
    assert f"  faasify {name} " in text.split("\n\n")[-1]


@pytest.mark.parametrize(("name", "port"), [("serve", "8000"), ("local", "3000")])
def test_the_two_servers_say_their_different_default_ports(name: str, port: str) -> None:
    text = " ".join(_help(name).split())
    assert f"--port PORT the port to listen on (default: {port})" in text


def test_flags_and_lists_show_readable_defaults() -> None:
    text = " ".join(_help("package").split())
    assert "(default: off)" in text  # a flag, not "False"
    assert "(default: none)" in text  # a repeatable option, not "[]"
    assert "False" not in text
    assert "[]" not in text
