"""Which wheels a Lambda Python runtime can load: its architectures and manylinux tags."""

from __future__ import annotations

import re

from faasify.package._errors import PackageError

__all__ = ["ARCHITECTURES", "platform_tags", "python_version"]

#: Lambda architecture name -> the machine name in manylinux platform tags.
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}

# Lambda's Python runtimes: glibc 2.26 (Amazon Linux 2) up to python3.11,
# glibc 2.34 (Amazon Linux 2023) from python3.12 on.
_AL2023_FROM = (3, 12)
_GLIBC_AL2 = 26
_GLIBC_AL2023 = 34


def python_version(text: str) -> tuple[int, int]:
    """``(3, 12)`` from ``"3.12"``; anything else is refused as an option value."""
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
    newest = _GLIBC_AL2023 if python_version(python) >= _AL2023_FROM else _GLIBC_AL2
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(newest, 16, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += ["manylinux_2_12_x86_64", "manylinux2010_x86_64"]
        tags += ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    return tags
