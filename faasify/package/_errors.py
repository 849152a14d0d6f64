"""What ``faasify package`` raises: one root, and the refusal of an oversized zip."""

from __future__ import annotations

from faasify._exceptions import FaasifyError

__all__ = ["PackageError", "SizeLimitError"]


class PackageError(FaasifyError):
    """The deployment zip cannot be built as asked (pip failed, a source is missing...)."""


class SizeLimitError(PackageError):
    """The zip would be over one of Lambda's size limits; nothing was written."""
