"""Checks for the commands a docs test does not run: what they name must exist.

``faasify`` commands parse with the real parser; ``pip install`` names extras the
project has; ``make`` names targets of the Makefile; ``python -m``, ``uvicorn`` and
``.venv/bin/pytest`` name modules and files of this checkout.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
from pathlib import Path

from faasify.cli._main import build_parser
from tests.support.docs.blocks import ROOT
from tests.support.docs.shell import Command

__all__ = ["CHECKABLE", "check"]

#: The programs :func:`check` knows what to look for in.
CHECKABLE = {"faasify", "pip", "pip3", "make", "python", "python3", "uvicorn", "pytest"}


def _extras() -> set[str]:
    """The extras of pyproject.toml (read as text: tomllib is 3.11+, the project 3.10+)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([A-Za-z][\w-]*) = \[", section, re.M))


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))


def _module_exists(name: str) -> bool:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _check_faasify(argv: list[str]) -> str:
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = build_parser().parse_args(argv)
    except SystemExit as exit:
        raise AssertionError(f"faasify {' '.join(argv)}: {errors.getvalue().strip()}") from exit
    if args.command == "package":
        for source in args.sources:
            assert (ROOT / source).exists() or _module_exists(source), f"no source {source}"
        for file in args.requirements:
            assert (ROOT / file).is_file(), f"no requirements file {file}"
        return "faasify package: the options parse, the sources and requirements exist"
    return f"faasify {argv[0]}: the options parse"


def _check_pip(argv: list[str]) -> str:
    extras = _extras()
    named = []
    for word in argv[2:]:
        match = re.fullmatch(r"(?:faasify|\.)\[([\w,-]+)\]", word)
        if match:
            for extra in match.group(1).split(","):
                assert extra in extras, f"pip install {word}: no extra {extra!r} in pyproject.toml"
                named.append(extra)
    return f"pip install: extras {named} exist"


def _check_make(argv: list[str]) -> str:
    targets = [word for word in argv[1:] if "=" not in word and not word.startswith("-")]
    for target in targets:
        assert target in _make_targets(), f"make {target}: no such target in the Makefile"
    return f"make: targets {targets} exist"


def _check_python(argv: list[str]) -> str:
    if "-m" in argv:
        module = argv[argv.index("-m") + 1]
        assert _module_exists(module), f"python -m {module}: no such module"
        return f"python -m {module}: exists"
    return ""


def _check_files(argv: list[str]) -> str:
    paths = [w for w in argv[1:] if not w.startswith("-") and "/" in w and "=" not in w]
    for path in paths:
        assert (ROOT / path.split("::", 1)[0]).exists(), f"{argv[0]} {path}: no such path"
    return f"{argv[0]}: paths {paths} exist" if paths else ""


def check(command: Command, workdir: Path | None = None) -> str:
    """Check ``command`` without running it; what was checked, or "" for nothing.

    ``workdir`` is the page's working directory, where its titled blocks are
    written (``service.py`` for ``uvicorn service:app``).
    """
    argv = command.argv
    if not argv:
        return ""
    program = command.program
    if program == "faasify":
        return _check_faasify(argv[1:])
    if program in ("pip", "pip3"):
        return _check_pip(argv) if argv[1:2] == ["install"] else ""
    if program == "make":
        return _check_make(argv)
    if program.startswith("python"):
        return _check_python(argv)
    if program == "uvicorn":
        app = next(w for w in argv[1:] if not w.startswith("-"))
        module = app.partition(":")[0]
        on_page = workdir is not None and (workdir / f"{module.replace('.', '/')}.py").is_file()
        assert on_page or _module_exists(module), f"uvicorn {app}: no module {module}"
        return f"uvicorn {app}: module exists"
    if program == "pytest":
        return _check_files(argv)
    return ""
