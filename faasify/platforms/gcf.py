"""Deprecated: the gcf front door is :mod:`faasify.adapters.gcf`."""

from faasify.platforms._moved import moved

moved(__name__, "faasify.adapters.gcf")
