"""Paths below a prefix: a base path moved into the app's root path, once for all front doors.

A front door often receives paths with a prefix that is not part of the app's
routes: an API Gateway stage, a custom domain's base path, OpenFaaS's
``/function/<name>``, Azure's ``/api``. The app must route without it and
build links with it, which is what the ASGI ``root_path`` and the WSGI
``SCRIPT_NAME`` are for. These helpers are the one place that rule lives.
"""

from __future__ import annotations

from urllib.parse import unquote

# Checked with the other options where a handler is built; importable from here too.
from faasify.core.options import check_base_path

__all__ = ["check_base_path", "mount", "split_root", "unquote_path"]


def split_root(path: str, prefix: str) -> tuple[str, str] | None:
    """``(prefix, rest)`` when ``path`` lies under ``prefix``; ``None`` otherwise.

    ``/api`` lies under ``/api`` (rest ``/``) and ``/api/x`` does, ``/apix`` does not.
    """
    if not prefix or not path.startswith(prefix):
        return None
    if len(path) == len(prefix):
        return prefix, "/"
    if path[len(prefix)] == "/":
        return prefix, path[len(prefix) :]
    return None


def mount(
    root_path: str, path: str, base_path: str, *, stripped_upstream: bool = False
) -> tuple[str, str]:
    """``(root_path, path)`` with ``base_path`` moved from the path into the root.

    ``path`` is the decoded path below ``root_path``. When the path lies under
    ``base_path``, the prefix moves into the root. With ``stripped_upstream``
    (a gateway that removes the prefix before the function sees the request,
    as OpenFaaS's and Fn's do) the root carries ``base_path`` even when the
    path no longer starts with it, so that links still include it.
    """
    if not base_path:
        return root_path, path
    split = split_root(path, base_path)
    if split is not None:
        return root_path + split[0], split[1]
    if stripped_upstream:
        return root_path + base_path, path
    return root_path, path


def unquote_path(path: str) -> str:
    """Percent-decode a path that the front door delivered still encoded."""
    return unquote(path) if "%" in path else path
