"""``faasify package``: a function's deployment zip for AWS Lambda, built on any machine.

Lambda runs Linux on x86_64 or arm64 (Graviton). A zip built from the packages
installed on a developer's Mac, or on an x86_64 laptop for an arm64 function,
carries compiled extensions that do not load there. So the dependencies are
not taken from the local environment: pip installs them into an empty staging
directory from *manylinux wheels* for the function's architecture and Python
version (``--platform``, ``--python-version``, ``--implementation cp``,
``--only-binary=:all:``). Nothing is compiled, so no compiler or Docker is
needed; a dependency with no such wheel is refused by pip with its name.

The function's own code (paths or importable names) is added where Python will
import it from, and what Lambda already ships (the AWS SDK), what the function
never uses (caches, tests, virtualenvs, install records, earlier builds) and
local secrets (``.env`` files) are left out. The zip
is reproducible: entries sorted, timestamps fixed, modes normalised, so the
same inputs give the same bytes and a deploy tool sees "no change".

Lambda refuses packages over its limits: 50 MB zipped for a direct upload and
250 MB unzipped (function and layers together). Those limits are checked here,
before anything is uploaded, with the largest contents named.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faasify._exceptions import FaasifyError

__all__ = [
    "ARCHITECTURES",
    "AWS_SDK",
    "DEFAULT_EXCLUDES",
    "UNZIPPED_LIMIT",
    "ZIPPED_LIMIT",
    "Package",
    "PackageError",
    "SizeLimitError",
    "add_arguments",
    "build",
    "parse_size",
    "platform_tags",
    "run",
]

MB = 1024 * 1024
#: Lambda's limit on a zip uploaded directly (``aws lambda update-function-code
#: --zip-file``); a zip uploaded through S3 may be larger, up to the unzipped limit.
ZIPPED_LIMIT = 50 * MB
#: Lambda's limit on the unzipped function and all its layers (262,144,000 bytes).
UNZIPPED_LIMIT = 250 * MB

#: Lambda architecture name -> the machine name in manylinux platform tags.
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}

#: Top-level packages the Lambda Python runtimes already ship (the AWS SDK and
#: the parts of it nothing else uses). Left out unless ``keep_aws_sdk``.
#: python-dateutil, six and urllib3 ship too, but other packages pin their own
#: versions of them, so they stay in the zip.
AWS_SDK = ("boto3", "botocore", "s3transfer", "jmespath")

#: What no function needs at run time. A pattern without ``/`` matches a file or
#: directory name anywhere; one with ``/`` matches a path from the zip's root
#: (a leading ``/`` only anchors it). A directory that matches goes with all it holds.
DEFAULT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    "tests",
    ".venv",
    "venv",
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".DS_Store",
    "*.egg-info",
    # local secrets: a .env file holds credentials for a developer's machine, and
    # a function gets its settings from its environment configuration instead.
    ".env",
    ".env.*",
    # pip's install records: they list hashes of files that are no longer all
    # there, and nothing reads them at run time (METADATA and entry points stay).
    "*.dist-info/RECORD",
    "*.dist-info/INSTALLER",
    "*.dist-info/REQUESTED",
    "*.dist-info/direct_url.json",
)

# 1980-01-01, the earliest time a zip entry can carry: the fixed timestamp.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Lambda's Python runtimes: glibc 2.26 (Amazon Linux 2) up to python3.11,
# glibc 2.34 (Amazon Linux 2023) from python3.12 on.
_AL2023_FROM = (3, 12)
_GLIBC_AL2 = 26
_GLIBC_AL2023 = 34
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": MB, "g": 1024 * MB}


class PackageError(FaasifyError):
    """The deployment zip cannot be built as asked (pip failed, a source is missing...)."""


class SizeLimitError(PackageError):
    """The zip would be over one of Lambda's size limits; nothing was written."""


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
            f"{self.path}: {_mb(self.zipped_size)} zipped, {_mb(self.unzipped_size)} unzipped, "
            f"{self.files} files (Lambda {self.arch}, Python {self.python})",
            f"  limits: {_mb(max_zipped)} zipped (direct upload), {_mb(max_unzipped)} unzipped",
        ]
        if self.largest:
            top = ", ".join(f"{name} {_mb(size)}" for name, size in self.largest[:6])
            lines.append(f"  largest: {top}")
        if self.aws_sdk_left_out:
            lines.append(
                "  left out, the Lambda runtime provides them: " + ", ".join(self.aws_sdk_left_out)
            )
        if self.excluded_files:
            lines.append(
                f"  left out by the exclude patterns: {self.excluded_files} files "
                f"({_mb(self.excluded_size)})"
            )
        return "\n".join(lines)


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB // 10 else f"{size / 1024:.1f} KB"


def parse_size(text: str) -> int:
    """Bytes from ``"50MB"``, ``"250 MiB"``, ``"900k"`` or ``"1048576"``.

    MB here is 1024 * 1024 bytes, as Lambda counts its limits (250 MB unzipped
    is 262,144,000 bytes).
    """
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (expected e.g. 50MB, 900KB, 1048576)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").lower()[:1]])


def _python_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"3\.(\d+)", text.strip())
    if match is None:
        raise PackageError(f"--python must be a version such as 3.11, not {text!r}")
    return 3, int(match.group(1))


def platform_tags(arch: str, python: str) -> list[str]:
    """The manylinux platform tags a Lambda Python runtime on ``arch`` can load, newest first.

    manylinux2014 (glibc 2.17) loads everywhere; python3.12 and later run on
    Amazon Linux 2023 (glibc 2.34), so wheels built for a newer glibc up to
    2.34 are accepted there as well.
    """
    if arch not in ARCHITECTURES:
        raise PackageError(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {arch!r}")
    machine = ARCHITECTURES[arch]
    newest = _GLIBC_AL2023 if _python_version(python) >= _AL2023_FROM else _GLIBC_AL2
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(newest, 16, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += ["manylinux_2_12_x86_64", "manylinux2010_x86_64"]
        tags += ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    return tags


# -- exclusion ------------------------------------------------------------------------


class _Excluder:
    """Decides, path by path, what stays out of the zip (see :data:`DEFAULT_EXCLUDES`)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.names: list[str] = []
        self.paths: list[str] = []
        for pattern in patterns:
            pattern = pattern.strip().replace(os.sep, "/").rstrip("/")
            if not pattern:
                continue
            if "/" in pattern:
                self.paths.append(pattern.lstrip("/"))
            else:
                self.names.append(pattern)

    def excludes(self, arcname: str) -> bool:
        """Whether ``arcname`` (``/``-separated) or a directory above it matches."""
        parts = arcname.split("/")
        for part in parts:
            if any(fnmatch.fnmatchcase(part, name) for name in self.names):
                return True
        if self.paths:
            for end in range(1, len(parts) + 1):
                prefix = "/".join(parts[:end])
                if any(fnmatch.fnmatchcase(prefix, path) for path in self.paths):
                    return True
        return False


# -- sources --------------------------------------------------------------------------


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


class _Gatherer:
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

    def __init__(self, excluder: _Excluder, output: Path) -> None:
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


def _add_source(source: str, gather: _Gatherer) -> None:
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


def _add_module(name: str, gather: _Gatherer) -> None:
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


# -- dependencies ---------------------------------------------------------------------


def _local_requirement(spec: str) -> bool:
    """Whether a ``--with`` item names a local project or wheel rather than an index package.

    A URL (``https://.../x.tar.gz``, ``git+https://...``) or a PEP 508 direct
    reference (``pkg @ git+https://...``) contains ``/`` too, but is pip's to
    fetch: it is passed on as written, not turned into a local path.
    """
    if "://" in spec or " @ " in spec:
        return False
    bare = spec.split("[", 1)[0].strip()
    return bare.startswith((".", "/", "~")) or os.sep in bare or bare.endswith(".whl")


def _pip_install(
    staging: Path,
    requirements: Sequence[Path],
    specs: Sequence[str],
    arch: str,
    python: str,
    pip_args: Sequence[str],
) -> None:
    """Install the dependencies for the target into ``staging``, from wheels only."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(staging),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python,
        "--no-compile",
        "--no-warn-script-location",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--quiet",
    ]
    for tag in platform_tags(arch, python):
        command += ["--platform", tag]
    for file in requirements:
        command += ["--requirement", str(file)]
    for spec in specs:
        bare, bracket, extras = spec.partition("[")
        if _local_requirement(spec) and not bare.endswith(".whl"):
            bare = str(Path(os.path.expanduser(bare.strip())).resolve())
        command.append(bare + bracket + extras)
    command += list(pip_args)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise PackageError(
            f"pip could not install the dependencies as wheels for Lambda {arch}, "
            f"CPython {python} (manylinux2014_{ARCHITECTURES[arch]} up to "
            f"{platform_tags(arch, python)[0]}). A package with no wheel for that platform "
            "and Python version needs one built for it, or another version of it.\n" + output
        )
    # pip --target puts console scripts into bin/, with a shebang for this machine.
    shutil.rmtree(staging / "bin", ignore_errors=True)


def _check_wheel_tags(staging: Path, arch: str, python: str) -> None:
    """Refuse a dependency built for this machine rather than for Lambda.

    pip picks index wheels by the target's tags, but a local project given to
    ``--with`` is built here; if it has compiled code, its wheel is tagged for
    this machine and would not load on Lambda.
    """
    allowed = {"any", *platform_tags(arch, python)}
    for wheel in sorted(staging.glob("*.dist-info/WHEEL")):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.startswith("Tag:")
        ]
        platforms = {tag.rsplit("-", 1)[-1] for tag in tags}
        if tags and not platforms & allowed:
            project = wheel.parent.name.removesuffix(".dist-info")
            raise PackageError(
                f"{project} was built for {', '.join(sorted(platforms))}, which Lambda "
                f"{arch} cannot load: pass a manylinux wheel of it for {ARCHITECTURES[arch]} "
                "to --with instead of its source."
            )


def _aws_sdk_names(staging: Path) -> set[str]:
    """Top-level names in ``staging`` that belong to the AWS SDK packages, with their dist-info."""
    found: set[str] = set()
    for entry in staging.iterdir():
        name = entry.name
        project = re.split(r"-\d", name, maxsplit=1)[0].lower().replace("-", "_")
        if name in AWS_SDK or (name.endswith(".dist-info") and project in AWS_SDK):
            found.add(name)
    return found


# -- the zip --------------------------------------------------------------------------


def _fixed_time() -> tuple[int, int, int, int, int, int]:
    """The entries' timestamp: ``SOURCE_DATE_EPOCH`` when set, else 1980-01-01."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        stamp = time.gmtime(max(int(epoch), 315532800))
        return (
            stamp.tm_year,
            stamp.tm_mon,
            stamp.tm_mday,
            stamp.tm_hour,
            stamp.tm_min,
            stamp.tm_sec - stamp.tm_sec % 2,
        )
    return _ZIP_EPOCH


def _write_zip(path: Path, entries: dict[str, Path]) -> None:
    """Write ``entries`` (arcname -> file) reproducibly: sorted, fixed time, normalised modes.

    Every file is world-readable (Lambda runs the code as another user);
    files that were executable stay executable. Level 6 is zlib's default:
    level 9 took five times as long for a zip 0.7 % smaller (45 MB of wheels).
    """
    date_time = _fixed_time()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for arcname in sorted(entries):
            source = entries[arcname]
            info = zipfile.ZipInfo(arcname, date_time=date_time)
            info.create_system = 3  # Unix, so that unzip applies the mode bits
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if source.stat().st_mode & 0o111 else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            with source.open("rb") as reader, archive.open(info, "w") as writer:
                shutil.copyfileobj(reader, writer, 1024 * 1024)


def _largest(entries: dict[str, int]) -> list[tuple[str, int]]:
    """Unzipped bytes per top-level name (a package with its ``.dist-info``), largest first."""
    totals: dict[str, int] = {}
    for arcname, size in entries.items():
        top = arcname.split("/", 1)[0]
        if top.endswith((".dist-info", ".data")):
            top = re.split(r"-\d", top, maxsplit=1)[0].lower().replace("-", "_")
        elif top.endswith(".py") or "." in top:
            top = top.split(".", 1)[0]
        totals[top] = totals.get(top, 0) + size
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


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
    excluder = _Excluder(patterns)
    out = Path(output)

    with tempfile.TemporaryDirectory(prefix="faasify-package-") as temp:
        staging = Path(temp) / "deps"
        staging.mkdir()
        left_out: list[str] = []
        if requirements or with_:
            _pip_install(
                staging, [Path(file) for file in requirements], with_, arch, python, pip_args
            )
            _check_wheel_tags(staging, arch, python)
            if not keep_aws_sdk:
                sdk = _aws_sdk_names(staging)
                left_out = sorted(name for name in sdk if not name.endswith(".dist-info"))
                for name in sdk:
                    target = staging / name
                    if target.is_dir():
                        shutil.rmtree(target)
                    else:
                        target.unlink()

        entries: dict[str, Path] = {}
        origins: dict[str, str] = {}
        gather = _Gatherer(excluder, out)
        gather.walk("dependencies", staging)
        for source in sources:
            _add_source(source, gather)
        excluded_files, excluded_size = gather.excluded_files, gather.excluded_size
        for origin, arcname, file in gather.candidates:
            if arcname in entries and entries[arcname].read_bytes() != file.read_bytes():
                raise PackageError(
                    f"{arcname} comes from both {origins[arcname]} and {origin}, "
                    "with different contents"
                )
            entries[arcname] = file
            origins[arcname] = origin
        if not entries:
            raise PackageError("nothing left to package after the exclude patterns")

        sizes = {arcname: file.stat().st_size for arcname, file in entries.items()}
        unzipped = sum(sizes.values())
        largest = _largest(sizes)
        if unzipped > max_unzipped:
            raise SizeLimitError(
                f"refusing to build {out}: {_mb(unzipped)} unzipped is over the limit of "
                f"{_mb(max_unzipped)} (Lambda's 250 MB counts the function and its layers "
                f"together). Largest: {_describe(largest)}. Leave out what the function does "
                "not need with --exclude, or move large dependencies to a layer or a "
                "container image."
            )

        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        try:
            _write_zip(partial, entries)
            zipped = partial.stat().st_size
            if zipped > max_zipped:
                raise SizeLimitError(
                    f"refusing to build {out}: {_mb(zipped)} zipped is over the limit of "
                    f"{_mb(max_zipped)} for a direct upload. Largest: {_describe(largest)}. "
                    "Leave out what the function does not need with --exclude, or upload "
                    "through S3 (sam deploy and serverless deploy do) and raise --max-zipped."
                )
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)

    return Package(
        path=out,
        zipped_size=zipped,
        unzipped_size=unzipped,
        files=len(entries),
        arch=arch,
        python=python,
        largest=largest,
        aws_sdk_left_out=left_out,
        excluded_files=excluded_files,
        excluded_size=excluded_size,
    )


def _describe(largest: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {_mb(size)}" for name, size in largest[:5])


# -- the command ----------------------------------------------------------------------


def _size_argument(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``faasify package`` options, on the subcommand's parser."""
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="the function's code: a path (package directory, module, or folder whose "
        "contents go to the zip's root) or an importable name such as examples.todolist",
    )
    parser.add_argument(
        "-r",
        "--requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="a requirements file to install from wheels (repeatable)",
    )
    parser.add_argument(
        "--with",
        dest="with_",
        action="append",
        default=[],
        metavar="SPEC",
        help="a requirement to install from wheels, e.g. 'starlette>=0.37' or '.[baas]' for "
        "a local project (repeatable)",
    )
    parser.add_argument(
        "--arch",
        choices=sorted(ARCHITECTURES),
        default="x86_64",
        help="the function's architecture (default: %(default)s)",
    )
    parser.add_argument(
        "--python",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="the Lambda runtime's Python version (default: this interpreter's, %(default)s)",
    )
    parser.add_argument(
        "-o", "--output", default="dist/function.zip", metavar="ZIP", help="default: %(default)s"
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out files or directories matching PATTERN: a name ('*.md', 'docs') "
        "anywhere, or a path from the zip's root ('examples/todolist/deploy') (repeatable)",
    )
    parser.add_argument(
        "--no-default-excludes",
        action="store_true",
        help="keep caches, tests and install records that are left out by default",
    )
    parser.add_argument(
        "--keep-aws-sdk",
        action="store_true",
        help="keep boto3, botocore, s3transfer and jmespath instead of using the runtime's",
    )
    parser.add_argument(
        "--max-zipped",
        type=_size_argument,
        default=ZIPPED_LIMIT,
        metavar="SIZE",
        help="refuse a zip larger than this (default: 50MB, Lambda's direct-upload limit)",
    )
    parser.add_argument(
        "--max-unzipped",
        type=_size_argument,
        default=UNZIPPED_LIMIT,
        metavar="SIZE",
        help="refuse contents larger than this unzipped (default: 250MB, Lambda's limit)",
    )
    parser.add_argument(
        "--pip-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra argument for pip install, e.g. --pip-arg=--index-url=URL (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``faasify package`` with parsed arguments; print the summary or the refusal."""
    if "" not in sys.path:
        sys.path.insert(0, "")  # so that SOURCE names in the current directory resolve
    try:
        package = build(
            args.sources,
            requirements=args.requirements,
            with_=args.with_,
            arch=args.arch,
            python=args.python,
            output=args.output,
            exclude=args.exclude,
            default_excludes=not args.no_default_excludes,
            keep_aws_sdk=args.keep_aws_sdk,
            max_zipped=args.max_zipped,
            max_unzipped=args.max_unzipped,
            pip_args=args.pip_arg,
        )
    except PackageError as exc:
        print(f"faasify package: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # An output that cannot be written, a source file that cannot be read:
        # one line naming the file, not a traceback.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"faasify package: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    print(package.summary(args.max_zipped, args.max_unzipped))
    return 0
