"""Deprecated: the fn front door is :mod:`faasify.adapters.fn`."""

from faasify.platforms._moved import moved

moved(__name__, "faasify.adapters.fn")
