"""The pytest-benchmark suites: ``pytest benchmarks/suites --benchmark-only``
(``make bench`` runs them and ``python -m benchmarks.report`` tables their JSON)."""
