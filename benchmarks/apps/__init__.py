"""What the benchmarks run: the apps, the requests they serve and the candidates
(ways of getting a request through an app) that the suites and scripts time."""
