"""The dependencies: installed by pip from manylinux wheels for the function's target,
checked for wheels built for this machine, and stripped of the AWS SDK Lambda ships."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from faasify.package._errors import PackageError
from faasify.package._wheels import ARCHITECTURES, platform_tags

__all__ = [
    "AWS_SDK",
    "aws_sdk_names",
    "check_wheel_tags",
    "local_requirement",
    "pip_install",
    "remove_aws_sdk",
]

#: Top-level packages the Lambda Python runtimes already ship (the AWS SDK and
#: the parts of it nothing else uses). Left out unless ``keep_aws_sdk``.
#: python-dateutil, six and urllib3 ship too, but other packages pin their own
#: versions of them, so they stay in the zip.
AWS_SDK = ("boto3", "botocore", "s3transfer", "jmespath")


def local_requirement(spec: str) -> bool:
    """Whether a ``--with`` item names a local project or wheel rather than an index package.

    A URL (``https://.../x.tar.gz``, ``git+https://...``) or a PEP 508 direct
    reference (``pkg @ git+https://...``) contains ``/`` too, but is pip's to
    fetch: it is passed on as written, not turned into a local path.
    """
    if "://" in spec or " @ " in spec:
        return False
    bare = spec.split("[", 1)[0].strip()
    return bare.startswith((".", "/", "~")) or os.sep in bare or bare.endswith(".whl")


def pip_install(
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
        if local_requirement(spec) and not bare.endswith(".whl"):
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


def check_wheel_tags(staging: Path, arch: str, python: str) -> None:
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


def aws_sdk_names(staging: Path) -> set[str]:
    """Top-level names in ``staging`` that belong to the AWS SDK packages, with their dist-info."""
    found: set[str] = set()
    for entry in staging.iterdir():
        name = entry.name
        project = re.split(r"-\d", name, maxsplit=1)[0].lower().replace("-", "_")
        if name in AWS_SDK or (name.endswith(".dist-info") and project in AWS_SDK):
            found.add(name)
    return found


def remove_aws_sdk(staging: Path) -> list[str]:
    """Delete the AWS SDK packages from ``staging``; the names of those it held, sorted."""
    found = aws_sdk_names(staging)
    for name in found:
        target = staging / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    return sorted(name for name in found if not name.endswith(".dist-info"))
