"""How the old ``faasify.platforms.<name>`` modules find their new home."""

from __future__ import annotations

import importlib
import sys
import warnings

__all__ = ["moved"]


def moved(old: str, new: str) -> None:
    """Make module ``old`` the module ``new``, with a :class:`DeprecationWarning`.

    The old name then refers to the very same module object, so attributes
    set or patched through either name are seen through both.
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in faasify 0.3; import {new} instead",
        DeprecationWarning,
        stacklevel=4,
    )
    sys.modules[old] = importlib.import_module(new)
