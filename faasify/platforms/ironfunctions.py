"""Deprecated: the ironfunctions front door is :mod:`faasify.adapters.ironfunctions`."""

from faasify.platforms._moved import moved

moved(__name__, "faasify.adapters.ironfunctions")
