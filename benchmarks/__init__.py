"""Benchmarks: faasify against its peers, against the bare app call, and under load.

The scripts here run from the project root as ``python -m benchmarks.<name>``;
``apps/`` holds what they time (apps, requests, candidates) and ``suites/`` the
pytest-benchmark suites that ``make bench`` runs.
"""
