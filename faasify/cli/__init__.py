"""The ``faasify`` command line, one module per subcommand with its options.

``faasify.cli:main`` is the console script (``python -m faasify.cli`` runs it
too); :func:`load_handler` finds the handler a command names, as the local
runtime's instances do.
"""

from __future__ import annotations

from faasify.cli._target import load_handler

__all__ = ["load_handler", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``faasify`` with ``argv`` (default: the process's) and return the exit status."""
    from faasify.cli._main import main as run

    return run(argv)
