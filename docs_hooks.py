"""MkDocs hook: keep the nav buildable while some of its pages are still being written.

The nav in ``mkdocs.yml`` lists every page the site is meant to have. A few of
them (the todolist walkthrough and its deploy guides) are written alongside the
rest; ``mkdocs build --strict`` fails on a nav entry whose file does not exist,
so this hook drops exactly those entries while they are missing, and expands a
directory entry (``deploy/``) into the pages it holds. Every other nav entry is
checked as usual.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from griffe import Extension

#: Nav entries that may be absent at build time; nothing else is dropped.
OPTIONAL = frozenset({"todolist.md", "package.md", "deploy/"})


def _page_title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("-", " ").capitalize()


def _resolve(item: Any, docs: Path) -> Any:
    """The nav item with optional entries expanded or removed (None when removed)."""
    if isinstance(item, str):
        return _resolve_path(None, item, docs)
    if isinstance(item, dict):
        ((title, value),) = item.items()
        if isinstance(value, list):
            children = [c for c in (_resolve(child, docs) for child in value) if c is not None]
            return {title: children} if children else None
        if isinstance(value, str):
            return _resolve_path(title, value, docs)
    return item


def _resolve_path(title: str | None, path: str, docs: Path) -> Any:
    if path not in OPTIONAL:
        return path if title is None else {title: path}
    if path.endswith("/"):
        pages = sorted((docs / path).glob("*.md")) if (docs / path).is_dir() else []
        if not pages:
            return None
        entries = [{_page_title(p): p.relative_to(docs).as_posix()} for p in pages]
        return {title or path.rstrip("/"): entries}
    if not (docs / path).is_file():
        return None
    return path if title is None else {title: path}


def on_config(config: Any, **_: Any) -> Any:
    """Drop or expand the optional nav entries according to what is on disk."""
    docs = Path(config["docs_dir"])
    if config["nav"]:
        config["nav"] = [n for n in (_resolve(item, docs) for item in config["nav"]) if n]
    return config


# -- API reference: Sphinx roles in docstrings become cross-references ---------

_ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj):`(~?)([\w.]+)(?:\(\))?`")


def _target(obj: Any, name: str) -> str:
    """The canonical path ``name`` designates from ``obj``'s docstring, best effort."""
    if name.startswith("faasify"):
        return name
    scopes = [obj if obj.is_class else obj.parent, obj.module]
    for scope in scopes:
        if scope is None:
            continue
        try:
            found = scope[name]
        except Exception:
            continue
        try:
            return str(getattr(found, "target_path", found.path))
        except Exception:
            return str(found.path)
    return f"{obj.module.path}.{name}"


class SphinxRoles(Extension):
    """Turn ``:class:`~a.b.C``` and friends into links the API reference resolves.

    faasify's docstrings use the Sphinx roles Python programmers read everywhere.
    Each becomes an *optional* autorefs link: a link where the target is in the
    reference, plain code where it is not, never a broken link.
    """

    def on_object(self, *, obj: Any, **_: Any) -> None:
        docstring = obj.docstring
        if docstring is None or ":`" not in docstring.value:
            return

        def link(match: re.Match[str]) -> str:
            short, name = match.group(1), match.group(2)
            shown = name.rsplit(".", 1)[-1] if short else name
            target = _target(obj, name)
            return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'

        docstring.value = _ROLE.sub(link, docstring.value)
