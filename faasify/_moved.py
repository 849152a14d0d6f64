"""Names that moved, still found where they were for one release, with a warning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(module: str, moved: Mapping[str, tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module`` that finds each moved name in its new home.

    ``moved`` maps a name to ``(the module it lives in, where users should
    import it from)``; using one gives a :class:`DeprecationWarning`.
    """

    def __getattr__(name: str) -> Any:
        found = moved.get(name)
        if found is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        home, public = found
        warnings.warn(
            f"{module}.{name} is deprecated and will be removed in faasify 0.3; "
            f"import it from {public}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)

    return __getattr__
