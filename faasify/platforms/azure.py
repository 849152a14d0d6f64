"""Deprecated: the azure front door is :mod:`faasify.adapters.azure`."""

from faasify.platforms._moved import moved

moved(__name__, "faasify.adapters.azure")
