"""Deprecated: every front door now lives in :mod:`faasify.adapters`.

``faasify.platforms.gcf`` and its siblings still import, with a
:class:`DeprecationWarning`, as the same modules as ``faasify.adapters.gcf``
and so on, for one more release.
"""
