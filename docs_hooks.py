"""MkDocs hook: a nav entry naming a folder (``deploy/``) lists the pages it holds.

The nav in ``mkdocs.yml`` names the deploy guides by their folder, so that a new
guide appears in the site without a nav edit. This hook expands such an entry
into one entry per page, titled by the page's first heading. Every other nav
entry is left for ``mkdocs build --strict`` to check: a page that is missing
fails the build, and so does a folder entry with no page in it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from griffe import Extension

#: Nav entries that may be absent at build time and are then dropped: none. Every
#: page the nav names exists, and --strict is to say so when one goes missing.
OPTIONAL: frozenset[str] = frozenset()


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
    if path.endswith("/") and "://" not in path:
        pages = sorted((docs / path).glob("*.md")) if (docs / path).is_dir() else []
        if not pages:
            if path in OPTIONAL:
                return None
            raise ValueError(f"the nav entry {path!r} names a folder with no pages in docs/")
        entries = [{_page_title(p): p.relative_to(docs).as_posix()} for p in pages]
        return {title or path.rstrip("/"): entries}
    if path in OPTIONAL and not (docs / path).is_file():
        return None
    return path if title is None else {title: path}


def on_config(config: Any, **_: Any) -> Any:
    """Expand folder entries into their pages (and drop any OPTIONAL entry not on disk)."""
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
