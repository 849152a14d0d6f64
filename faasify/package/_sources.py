"""The function's own code: each SOURCE found on disk or on ``sys.path``, walked into
``(origin, arcname, file)`` candidates named as Python will import them."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from faasify.package._errors import PackageError
from faasify.package._excludes import Excluder

__all__ = ["Gatherer", "add_source"]


def _package_root(path: Path) -> tuple[Path, list[Path]]:
    """The directory ``path``'s import name starts from, and the parent ``__init__.py`` files.

    ``examples/todolist`` inside the package ``examples`` is imported as
    ``examples.todolist``: it goes into the zip as ``examples/todolist/``, with
    ``examples/__init__.py`` beside it.
    """
    inits: list[Path] = []
    parent = path.parent
    while (parent / "__init__.py").is_file():
        inits.append(parent / "__init__.py")
        parent = parent.parent
    return parent, inits


class Gatherer:
    """Collects what the zip is made of: ``(origin, arcname, file)`` candidates.

    The exclude patterns are applied while walking, so an excluded directory is
    never entered: a virtualenv's links to the system Python are not looked at,
    only counted. Symbolic links are followed when they stay inside the source
    being walked, and refused when they lead out of it: a link to
    ``/etc/hostname`` or ``~/.aws`` would otherwise ship that file's contents.
    The output zip, its ``*.partial`` siblings and, when the output's directory
    sits inside a source, that whole directory (``dist/`` with its older zips)
    are left out.
    """

    def __init__(self, excluder: Excluder, output: Path) -> None:
        self.excluder = excluder
        self.output = output.resolve()
        self.output_dir = self.output.parent
        self.candidates: list[tuple[str, str, Path]] = []
        self.excluded_files = 0
        self.excluded_size = 0

    def _is_output(self, real: Path) -> bool:
        """Whether ``real`` is the zip being written or an unfinished one beside it."""
        return real == self.output or (
            real.parent == self.output_dir and real.name.endswith(".partial")
        )

    def _count_excluded(self, path: Path) -> None:
        """Count what ``path`` holds as left out, without following links."""
        if os.path.islink(path) or not path.is_dir():
            self.excluded_files += 1
            self.excluded_size += path.lstat().st_size
            return
        for dirpath, _, filenames in os.walk(path):
            for name in filenames:
                self.excluded_files += 1
                self.excluded_size += os.lstat(os.path.join(dirpath, name)).st_size

    def add(self, origin: str, arcname: str, file: Path) -> None:
        """One file named by a source itself (a module, a parent ``__init__.py``)."""
        if self._is_output(file.resolve()):
            return
        if self.excluder.excludes(arcname):
            self._count_excluded(file)
            return
        self.candidates.append((origin, arcname, file))

    def walk(self, origin: str, top: Path, prefix: str = "") -> None:
        """Every file under the directory ``top``, named ``prefix/<path below top>``."""
        if prefix and self.excluder.excludes(prefix):
            self._count_excluded(top)
            return
        root = top.resolve()

        def unreadable(error: OSError) -> None:
            raise PackageError(
                f"cannot read the directory {error.filename} (from {origin}): "
                f"{error.strerror or error}"
            ) from error

        # The real directories from top down to each directory being walked:
        # a link back to one of them would make the walk endless.
        chains: dict[str, tuple[Path, ...]] = {os.fspath(top): (root,)}
        for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable, followlinks=True):
            here = Path(dirpath)
            chain = chains.pop(dirpath)
            rel = here.relative_to(top).as_posix()
            base = "/".join(part for part in (prefix, "" if rel == "." else rel) if part)
            kept: list[str] = []
            for name in sorted(dirnames):
                path = here / name
                arcname = f"{base}/{name}" if base else name
                if self.excluder.excludes(arcname):
                    self._count_excluded(path)
                    continue
                real = self._followed(path, root, origin) if path.is_symlink() else chain[-1] / name
                if real == self.output_dir:
                    self._skip_output_dir(path, origin)
                    continue
                if real in chain:
                    raise PackageError(
                        f"{path} links back to {real}, a directory it is inside: "
                        "packaging it would never end; remove the link or exclude it"
                    )
                chains[os.path.join(dirpath, name)] = (*chain, real)
                kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                path = here / name
                arcname = f"{base}/{name}" if base else name
                if self.excluder.excludes(arcname):
                    self._count_excluded(path)
                    continue
                real = self._followed(path, root, origin) if path.is_symlink() else chain[-1] / name
                if self._is_output(real):
                    continue
                self.candidates.append((origin, arcname, path))

    @staticmethod
    def _followed(link: Path, root: Path, origin: str) -> Path:
        """Where the symbolic link ``link`` leads, if that is inside ``root``; else refuse."""
        real = link.resolve()
        if real != root and not real.is_relative_to(root):
            raise PackageError(
                f"{link} is a symbolic link to {real}, outside the source {origin} "
                f"({root}); it is not packaged through a link. Give it as a SOURCE of "
                "its own, copy it into the source, or leave it out with --exclude"
            )
        if not real.exists():
            raise PackageError(f"{link} is a broken symbolic link (to {real})")
        return real

    def _skip_output_dir(self, path: Path, origin: str) -> None:
        """Leave out the output's directory, unless it holds code of the source."""
        code = sorted(entry.name for entry in path.glob("*.py"))
        if code:
            raise PackageError(
                f"the output's directory {path} is inside the source {origin} and holds "
                f"its code ({', '.join(code[:3])}); it would be left out of the zip. Write "
                "the zip to a directory of its own, such as dist/"
            )


def add_source(source: str, gather: Gatherer) -> None:
    """Add what one SOURCE argument contributes, named as Python imports it.

    A path to a package directory or a module inside a package lands at its
    import path; a directory that is not a package gives its contents to the
    zip's root; a module file outside packages lands at the root. A dotted name
    (``examples.todolist``) is looked up on ``sys.path``.
    """
    path = Path(source)
    if path.exists():
        path = path.resolve()
        if path.is_dir() and not (path / "__init__.py").is_file():
            gather.walk(source, path)
            return
        root, inits = _package_root(path)
        for init in inits:
            gather.add(source, init.relative_to(root).as_posix(), init)
        if path.is_dir():
            gather.walk(source, path, path.relative_to(root).as_posix())
        else:
            gather.add(source, path.relative_to(root).as_posix(), path)
        return
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", source):
        raise PackageError(f"source {source!r} is neither a path nor an importable name")
    _add_module(source, gather)


def _add_module(name: str, gather: Gatherer) -> None:
    """Add the module or package ``name``, found as ``import`` would (its parents run)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise PackageError(f"source {name!r} cannot be imported: {exc}") from exc
    if spec is None:
        raise PackageError(f"source {name!r} is neither a path nor an importable name")
    parts = name.split(".")
    for end in range(1, len(parts)):
        parent = importlib.util.find_spec(".".join(parts[:end]))
        if parent is not None and parent.origin and parent.has_location:
            gather.add(name, "/".join(parts[:end]) + "/__init__.py", Path(parent.origin))
    if spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            gather.walk(name, Path(location), "/".join(parts))
        return
    if not spec.origin or not spec.has_location:
        raise PackageError(f"source {name!r} has no file to package (a built-in module?)")
    origin = Path(spec.origin)
    gather.add(name, "/".join([*parts[:-1], origin.name]), origin)
