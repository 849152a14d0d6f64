"""``build``: sources and dependencies gathered, checked against Lambda's limits, zipped."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faasify.package._dependencies import check_wheel_tags, pip_install, remove_aws_sdk
from faasify.package._errors import PackageError, SizeLimitError
from faasify.package._excludes import DEFAULT_EXCLUDES, Excluder
from faasify.package._sizes import UNZIPPED_LIMIT, ZIPPED_LIMIT, format_size
from faasify.package._sources import Gatherer, add_source
from faasify.package._wheels import platform_tags
from faasify.package._zip import sizes_by_name, write_zip

__all__ = ["Package", "build"]


@dataclass(frozen=True)
class Package:
    """What :func:`build` wrote, and what it left out."""

    path: Path
    zipped_size: int
    unzipped_size: int
    files: int
    arch: str
    python: str
    #: ``(top-level name, unzipped bytes)``, largest first.
    largest: list[tuple[str, int]] = field(default_factory=list)
    #: AWS SDK packages found among the dependencies and left out.
    aws_sdk_left_out: list[str] = field(default_factory=list)
    #: Files left out by the exclude patterns, and their size.
    excluded_files: int = 0
    excluded_size: int = 0

    def summary(self, max_zipped: int = ZIPPED_LIMIT, max_unzipped: int = UNZIPPED_LIMIT) -> str:
        """A few lines for a person: the sizes against the limits, and what is in the zip."""
        lines = [
            f"{self.path}: {format_size(self.zipped_size)} zipped, "
            f"{format_size(self.unzipped_size)} unzipped, {self.files} files "
            f"(Lambda {self.arch}, Python {self.python})",
            f"  limits: {format_size(max_zipped)} zipped (direct upload), "
            f"{format_size(max_unzipped)} unzipped",
        ]
        if self.largest:
            top = ", ".join(f"{name} {format_size(size)}" for name, size in self.largest[:6])
            lines.append(f"  largest: {top}")
        if self.aws_sdk_left_out:
            lines.append(
                "  left out, the Lambda runtime provides them: " + ", ".join(self.aws_sdk_left_out)
            )
        if self.excluded_files:
            lines.append(
                f"  left out by the exclude patterns: {self.excluded_files} files "
                f"({format_size(self.excluded_size)})"
            )
        return "\n".join(lines)


def build(
    sources: Sequence[str] = (),
    *,
    requirements: Sequence[str | os.PathLike[str]] = (),
    with_: Sequence[str] = (),
    arch: str = "x86_64",
    python: str | None = None,
    output: str | os.PathLike[str] = "dist/function.zip",
    exclude: Sequence[str] = (),
    default_excludes: bool = True,
    keep_aws_sdk: bool = False,
    max_zipped: int = ZIPPED_LIMIT,
    max_unzipped: int = UNZIPPED_LIMIT,
    pip_args: Sequence[str] = (),
) -> Package:
    """Build the deployment zip at ``output`` and return what went into it.

    ``sources`` are the function's code (paths, or dotted names importable
    here); ``requirements`` files and ``with_`` specs (``"starlette>=0.37"``,
    ``".[baas]"`` for a local project) are installed from manylinux wheels for
    ``arch`` and ``python`` (default: this interpreter's version). Raises
    :class:`SizeLimitError` without writing anything when the zip would be over
    ``max_unzipped`` or ``max_zipped``, and :class:`PackageError` for anything
    else that cannot be done.
    """
    python = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    platform_tags(arch, python)  # validates both before any work
    if not (sources or requirements or with_):
        raise PackageError("nothing to package: give a SOURCE, --requirements or --with")
    for file in requirements:
        if not Path(file).is_file():
            raise PackageError(f"requirements file not found: {file}")
    patterns = [*DEFAULT_EXCLUDES, *exclude] if default_excludes else list(exclude)
    excluder = Excluder(patterns)
    out = Path(output)

    with tempfile.TemporaryDirectory(prefix="faasify-package-") as temp:
        staging = Path(temp) / "deps"
        staging.mkdir()
        left_out: list[str] = []
        if requirements or with_:
            pip_install(
                staging, [Path(file) for file in requirements], with_, arch, python, pip_args
            )
            check_wheel_tags(staging, arch, python)
            if not keep_aws_sdk:
                left_out = remove_aws_sdk(staging)

        gather = Gatherer(excluder, out)
        gather.walk("dependencies", staging)
        for source in sources:
            add_source(source, gather)
        entries = _merged(gather.candidates)
        sizes = {arcname: file.stat().st_size for arcname, file in entries.items()}
        unzipped = sum(sizes.values())
        largest = sizes_by_name(sizes)
        if unzipped > max_unzipped:
            raise SizeLimitError(
                f"refusing to build {out}: {format_size(unzipped)} unzipped is over the limit "
                f"of {format_size(max_unzipped)} (Lambda's 250 MB counts the function and its "
                f"layers together). Largest: {_describe(largest)}. Leave out what the function "
                "does not need with --exclude, or move large dependencies to a layer or a "
                "container image."
            )
        zipped = _write_within(out, entries, max_zipped, largest)

    return Package(
        path=out,
        zipped_size=zipped,
        unzipped_size=unzipped,
        files=len(entries),
        arch=arch,
        python=python,
        largest=largest,
        aws_sdk_left_out=left_out,
        excluded_files=gather.excluded_files,
        excluded_size=gather.excluded_size,
    )


def _merged(candidates: list[tuple[str, str, Path]]) -> dict[str, Path]:
    """arcname -> file; the same arcname from two origins must hold the same bytes."""
    entries: dict[str, Path] = {}
    origins: dict[str, str] = {}
    for origin, arcname, file in candidates:
        if arcname in entries and entries[arcname].read_bytes() != file.read_bytes():
            raise PackageError(
                f"{arcname} comes from both {origins[arcname]} and {origin}, "
                "with different contents"
            )
        entries[arcname] = file
        origins[arcname] = origin
    if not entries:
        raise PackageError("nothing left to package after the exclude patterns")
    return entries


def _write_within(
    out: Path, entries: dict[str, Path], max_zipped: int, largest: list[tuple[str, int]]
) -> int:
    """Write the zip beside ``out`` and move it there if it is within ``max_zipped``.

    Written as a hidden ``.partial`` sibling first, so that a refused or
    interrupted build never leaves a zip a deploy tool would upload.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        write_zip(partial, entries)
        zipped = partial.stat().st_size
        if zipped > max_zipped:
            raise SizeLimitError(
                f"refusing to build {out}: {format_size(zipped)} zipped is over the limit of "
                f"{format_size(max_zipped)} for a direct upload. Largest: {_describe(largest)}. "
                "Leave out what the function does not need with --exclude, or upload "
                "through S3 (sam deploy and serverless deploy do) and raise --max-zipped."
            )
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return zipped


def _describe(largest: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {format_size(size)}" for name, size in largest[:5])
