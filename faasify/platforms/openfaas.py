"""Deprecated: the openfaas front door is :mod:`faasify.adapters.openfaas`."""

from faasify.platforms._moved import moved

moved(__name__, "faasify.adapters.openfaas")
