"""How ``faasify --help`` reads: examples kept as written, every option's default shown."""

from __future__ import annotations

import argparse

__all__ = ["HelpFormatter"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; ``(default: ...)`` after every option's help.

    A flag's default is "off" and a repeatable option's "none", rather than
    Python's ``False`` and ``[]``; an option whose help already says its
    default is left as it is.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" in text or action.default is argparse.SUPPRESS:
            return text
        if not action.option_strings and action.nargs not in ("?", "*"):
            return text  # a required positional has no default
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)"
        if action.default in (None, [], ()):
            return f"{text} (default: none)"
        return f"{text} (default: %(default)s)"
