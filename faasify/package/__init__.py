"""A function's deployment zip for AWS Lambda, built on any machine (``faasify package``).

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

The work is split by job: ``_sizes`` (Lambda's limits), ``_wheels``
(which wheels Lambda can load), ``_dependencies`` (pip and the AWS SDK),
``_excludes`` and ``_sources`` (what goes in), ``_zip`` (the
reproducible zip) and ``_build`` (all of it, checked). The command line's
options live with the other subcommands in :mod:`faasify.cli.package`.
"""

from __future__ import annotations

import warnings
from typing import Any

from faasify.package._build import Package, build
from faasify.package._dependencies import AWS_SDK
from faasify.package._errors import PackageError, SizeLimitError
from faasify.package._excludes import DEFAULT_EXCLUDES
from faasify.package._sizes import UNZIPPED_LIMIT, ZIPPED_LIMIT, parse_size
from faasify.package._wheels import ARCHITECTURES, platform_tags

__all__ = [
    "ARCHITECTURES",
    "AWS_SDK",
    "DEFAULT_EXCLUDES",
    "UNZIPPED_LIMIT",
    "ZIPPED_LIMIT",
    "Package",
    "PackageError",
    "SizeLimitError",
    "build",
    "parse_size",
    "platform_tags",
]

#: The command-line half, moved to :mod:`faasify.cli.package`; importable from
#: here for one more release.
_MOVED = {"add_arguments", "run"}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(
            f"faasify.package.{name} moved to faasify.cli.package.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        from faasify.cli import package as command

        return getattr(command, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
