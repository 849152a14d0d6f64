"""The code blocks of README.md and docs/, with what each page says about running them.

A fenced block is run as written unless the HTML comment just above it (invisible on
GitHub and on the site) says otherwise. One comment may hold several markers, split
by ``;``:

``<!-- fragment -->``
    A piece of a larger program (names come from around it): Python is compiled,
    not run; shell commands are checked (the command exists, its options parse)
    but not run.
``<!-- continues -->``
    Python run in the namespace the page's previous Python block left.
``<!-- needs: postgres redis -->``
    Run against the test servers: ``DATABASE_URL`` and ``REDIS_URL`` point at
    them, and the test carries those markers.
``<!-- script -->``
    A shell block run as one bash script (it starts its own servers in the
    background and waits for them), rather than line by line.
``<!-- offline -->``
    A shell block whose commands reach a cloud account or a registry: they are
    checked, not run.
``<!-- app: fastapi -->`` (or ``flask``)
    Python that wraps "your app": it runs with ``app`` a small app of that
    framework (``GET /`` answers ``{"hello": "world"}``), and the handler the
    block builds must answer a request with it.

A Python block with ``title="app.py"`` (the site shows the title above the code)
is also written to that file in the page's working directory, where the page's
shell commands then find it. The reference pages' ``::: name`` directives are
followed to the docstrings they render, whose blocks are covered the same way;
as a docstring cannot carry a marker, one that uses names it does not define
(an excerpt of the caller's module) is compiled rather than run.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
MARKERS = {"fragment", "continues", "needs", "script", "offline", "app"}

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.S | re.M,
)
_COMMENT = re.compile(r"<!--(?P<text>(?:(?!-->).)*)-->\s*\Z", re.S)
_TITLE = re.compile(r"""title=["']([^"']+)["']""")


@dataclass(frozen=True)
class Block:
    """One fenced code block and where it is."""

    page: str  # relative to the repository: README.md, docs/quickstart.md
    line: int  # of the opening fence, 1-based (in the docstring for reference pages)
    lang: str  # python, sh, console, json, yaml, ... ("" when none)
    code: str
    title: str | None = None
    markers: frozenset[str] = frozenset()
    needs: tuple[str, ...] = ()
    #: The framework of the app an ``app:`` marker provides.
    app: str | None = None
    #: For blocks of docstrings: the object whose docstring holds the block.
    origin: str | None = None
    index: int = field(default=0, compare=False)  # its place among the page's blocks

    @property
    def id(self) -> str:
        where = f"{self.origin}" if self.origin else f"{self.page}:{self.line}"
        return f"{where}:{self.lang or 'text'}" if self.origin else f"{where}"

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.code.splitlines() if line.strip()), "")


def _markers(before: str) -> tuple[frozenset[str], tuple[str, ...], str | None]:
    """The markers of the HTML comment that ends ``before`` (blank lines allowed)."""
    match = _COMMENT.search(before.rstrip())
    if match is None:
        return frozenset(), (), None
    names: set[str] = set()
    needs: tuple[str, ...] = ()
    app = None
    for part in match.group("text").split(";"):
        name, _, value = part.strip().partition(":")
        name = name.strip()
        if name not in MARKERS:
            continue
        names.add(name)
        if name == "needs":
            needs = tuple(value.split())
        elif name == "app":
            app = value.strip()
    return frozenset(names), needs, app


def blocks_of_text(text: str, page: str, origin: str | None = None) -> list[Block]:
    found = []
    for index, match in enumerate(_FENCE.finditer(text)):
        info = match.group("info").strip()
        lang = info.split()[0].lower() if info else ""
        title = _TITLE.search(info)
        markers, needs, app = _markers(text[: match.start()])
        indent = match.group("indent")
        body = match.group("body")
        code = textwrap.dedent(body) if indent else body
        found.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                lang=lang,
                code=code,
                title=title.group(1) if title else None,
                markers=markers,
                needs=needs,
                app=app,
                origin=origin,
                index=index,
            )
        )
    return found


def pages() -> list[Path]:
    """README.md and every page under docs/, reference pages included."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks_of_page(path: Path) -> list[Block]:
    page = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    found = blocks_of_text(text, page)
    for name, members in _directives(text):
        found += _docstring_blocks(page, name, members)
    return found


# -- the reference pages: ::: directives and the docstrings they render -------------------


def _directives(text: str) -> list[tuple[str, bool]]:
    """``(dotted name, members shown)`` for each ``::: name`` of a page."""
    found = []
    for match in re.finditer(r"^::: *(\S+)\n((?:[ \t]+\S.*\n?)*)", text, re.M):
        found.append((match.group(1), "members: false" not in match.group(2)))
    return found


def _resolve(name: str) -> Any:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            target = getattr(target, part)
        return target
    raise ImportError(f"::: {name} names nothing importable")


def _rendered(target: Any, members: bool) -> list[tuple[str, Any]]:
    """The objects whose docstrings mkdocstrings renders for ``::: target``."""
    found = [(getattr(target, "__qualname__", getattr(target, "__name__", "")), target)]
    if not members:
        return found
    if inspect.ismodule(target):
        names = getattr(target, "__all__", None) or [
            n for n, v in vars(target).items() if getattr(v, "__module__", None) == target.__name__
        ]
        for name in names:
            if name.startswith("_"):
                continue
            value = getattr(target, name, None)
            if inspect.isclass(value) or inspect.isfunction(value):
                found += _rendered(value, members=inspect.isclass(value))
    elif inspect.isclass(target):
        for name, value in vars(target).items():
            if name.startswith("_") and name != "__init__":
                continue
            function = value.fget if isinstance(value, property) else value
            function = getattr(function, "__func__", function)
            if inspect.isfunction(function):
                found.append((f"{target.__qualname__}.{name}", function))
    return found


def _docstring_blocks(page: str, name: str, members: bool) -> list[Block]:
    found: list[Block] = []
    seen: set[int] = set()
    for qualname, target in _rendered(_resolve(name), members):
        doc = inspect.getdoc(target)
        if not doc or id(doc) in seen:
            continue
        seen.add(id(doc))
        module = getattr(inspect.getmodule(target), "__name__", "")
        where = qualname if qualname.startswith(module) else f"{module}.{qualname}"
        found += blocks_of_text(doc, page, origin=where)
    return found


def free_names(code: str) -> set[str]:
    """The names ``code`` reads but never binds or imports (nor are they builtins)."""
    import ast
    import builtins

    tree = ast.parse(code)
    bound: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound - set(dir(builtins))


def all_blocks() -> list[Block]:
    blocks = []
    for path in pages():
        blocks += blocks_of_page(path)
    return blocks
