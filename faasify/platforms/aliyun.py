"""Deprecated: the aliyun front door is :mod:`faasify.adapters.aliyun`."""

from faasify.platforms._moved import moved

moved(__name__, "faasify.adapters.aliyun")
