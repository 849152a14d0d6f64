"""Adapter overhead benchmarks: faasify against its peers and against the bare app call.

A package (rather than loose test files) so that ``python -m benchmarks.report``
and ``python -m benchmarks.import_time`` run from the project root.
"""
